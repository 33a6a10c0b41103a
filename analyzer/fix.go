package analyzer

import (
	"cmp"
	"fmt"
	"slices"
)

// ApplyEdits returns data with edits applied. Every byte outside the edited
// ranges is kept as it was. Edits are given as byte offsets into data (as
// rules compute them from the loaded file); their Pos.File is not looked
// at. Edits are applied in offset order; two edits that overlap, or two
// insertions at the same offset (whose order would be a guess), are an
// error, and so is an edit outside data. Identical duplicate edits are
// applied once.
func ApplyEdits(data []byte, edits []TextEdit) ([]byte, error) {
	es := append([]TextEdit(nil), edits...)
	slices.SortStableFunc(es, func(a, b TextEdit) int {
		return cmp.Or(cmp.Compare(a.Pos.Offset, b.Pos.Offset), cmp.Compare(a.End.Offset, b.End.Offset))
	})
	es = slices.CompactFunc(es, func(a, b TextEdit) bool {
		return a.Pos.Offset == b.Pos.Offset && a.End.Offset == b.End.Offset && a.NewText == b.NewText
	})
	out := make([]byte, 0, len(data)+64)
	last := 0
	for i, e := range es {
		start, end := e.Pos.Offset, e.End.Offset
		if start < 0 || end < start || end > len(data) {
			return nil, fmt.Errorf("edit [%d,%d) is outside the file (%d bytes)", start, end, len(data))
		}
		if i > 0 {
			p := es[i-1]
			if start < p.End.Offset || (start == p.Pos.Offset && start == end && p.Pos.Offset == p.End.Offset) {
				return nil, fmt.Errorf("edits [%d,%d) and [%d,%d) overlap", p.Pos.Offset, p.End.Offset, start, end)
			}
		}
		out = append(out, data[last:start]...)
		out = append(out, e.NewText...)
		last = end
	}
	return append(out, data[last:]...), nil
}

// EditsOverlap reports whether any edit of a overlaps any edit of b (same
// file assumed), treating two insertions at one offset as overlapping. The
// CLI uses it to apply only the fixes that do not conflict with fixes
// already chosen.
func EditsOverlap(a, b []TextEdit) bool {
	for _, x := range a {
		for _, y := range b {
			if x.Pos.File != y.Pos.File {
				continue
			}
			if x.Pos.Offset == y.Pos.Offset && x.End.Offset == y.End.Offset && x.NewText == y.NewText {
				continue // the same edit twice: applied once
			}
			if x.Pos.Offset < y.End.Offset && y.Pos.Offset < x.End.Offset {
				return true
			}
			if x.Pos.Offset == y.Pos.Offset && (x.Pos.Offset == x.End.Offset || y.Pos.Offset == y.End.Offset) {
				return true
			}
		}
	}
	return false
}
