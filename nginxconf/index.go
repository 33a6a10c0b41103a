package nginxconf

import "slices"

// Index is a configuration's directives flattened in Walk order, with the
// directives of each name listed apart. Many checks look at a handful of
// names (ssl_protocols, resolver, map...) anywhere in the tree; with an
// Index each of them reads its names' lists instead of walking the whole
// tree again (a 128k-line configuration has ~100k directives, and twenty
// walks of it cost more than its parse). Build one per loaded
// configuration with NewIndex and share it; it is read-only after that.
type Index struct {
	entries []indexEntry
	byName  map[string][]int32
}

type indexEntry struct {
	d *Directive
	// parent is the entry index of the enclosing block directive (across
	// files, as Walk's parents), -1 at the top.
	parent int32
}

// NewIndex flattens c. A nil or unread configuration gives an empty index.
func NewIndex(c *Config) *Index {
	ix := &Index{byName: map[string][]int32{}}
	if c == nil || c.Main == nil {
		return ix
	}
	var walk func(ds []*Directive, parent int32)
	walk = func(ds []*Directive, parent int32) {
		for _, d := range ds {
			i := int32(len(ix.entries))
			ix.entries = append(ix.entries, indexEntry{d: d, parent: parent})
			ix.byName[d.Name] = append(ix.byName[d.Name], i)
			for _, inc := range d.Included {
				walk(inc.Directives, parent)
			}
			if len(d.Block) > 0 {
				walk(d.Block, i)
			}
		}
	}
	walk(c.Main.Directives, -1)
	return ix
}

// Len is the number of directives, includes and blocks counted.
func (ix *Index) Len() int { return len(ix.entries) }

// Named returns the directives called name in Walk order, in a new slice.
func (ix *Index) Named(name string) []*Directive {
	is := ix.byName[name]
	out := make([]*Directive, len(is))
	for k, i := range is {
		out[k] = ix.entries[i].d
	}
	return out
}

// Each calls fn for every directive called one of names, in Walk order,
// with its enclosing blocks outermost first as Walk gives them (fn must
// not retain parents). With no names it visits every directive. Unlike
// Walk, it cannot skip a block: a check that must not look inside some
// blocks tests the parents.
func (ix *Index) Each(fn func(d *Directive, parents []*Directive), names ...string) {
	var buf []*Directive
	visit := func(i int32) {
		buf = buf[:0]
		for p := ix.entries[i].parent; p >= 0; p = ix.entries[p].parent {
			buf = append(buf, ix.entries[p].d)
		}
		slices.Reverse(buf)
		fn(ix.entries[i].d, buf)
	}
	if len(names) == 0 {
		// In Walk order an entry's parent is the entry just before it (a
		// block opens) or on the chain of the one before: keep the chain
		// as a stack instead of climbing it for every entry.
		var chain []int32
		for i, e := range ix.entries {
			if e.parent >= 0 && e.parent == int32(i)-1 {
				chain = append(chain, e.parent)
				buf = append(buf, ix.entries[e.parent].d)
			} else {
				for len(chain) > 0 && chain[len(chain)-1] != e.parent {
					chain, buf = chain[:len(chain)-1], buf[:len(buf)-1]
				}
			}
			fn(e.d, buf)
		}
		return
	}
	if len(names) == 1 {
		for _, i := range ix.byName[names[0]] {
			visit(i)
		}
		return
	}
	var is []int32
	for _, n := range names {
		is = append(is, ix.byName[n]...)
	}
	slices.Sort(is)
	is = slices.Compact(is) // a name given twice
	for _, i := range is {
		visit(i)
	}
}
