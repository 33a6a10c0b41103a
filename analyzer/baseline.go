package analyzer

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"
)

// Fingerprint identifies a finding across edits that move it: the rule, the
// file, a hash of the text of the line the finding starts on (whitespace
// collapsed, so re-indenting does not matter) and the occurrence index of
// that (rule, file, text) triple in file order. From baseline format 2 the
// hash also covers the opening line of the innermost block around the
// finding (SARIF's partialFingerprints practice of hashing context), so an
// identical line added in another block (another location with the same
// proxy_pass) is a different finding and shifts no other one's index. Line numbers are not part
// of it, so adding lines above a finding keeps its fingerprint; editing the
// line itself gives a new one, which is what a baseline wants: a changed
// directive is reviewed again.
type Fingerprint struct {
	Rule       string `json:"rule"`
	File       string `json:"file"`
	Hash       string `json:"hash"`
	Occurrence int    `json:"occurrence"`
}

func (f Fingerprint) String() string {
	return fmt.Sprintf("%s:%s:%s:%d", f.Rule, f.File, f.Hash, f.Occurrence)
}

// LineText returns the whitespace-collapsed text of the line holding byte
// offset off in data ("" when off is outside data).
func LineText(data []byte, off int) string {
	if off < 0 || off > len(data) {
		return ""
	}
	start := bytes.LastIndexByte(data[:off], '\n') + 1
	end := bytes.IndexByte(data[off:], '\n')
	if end < 0 {
		end = len(data)
	} else {
		end += off
	}
	return strings.Join(strings.Fields(string(data[start:end])), " ")
}

// Fingerprints computes the fingerprint of each diagnostic (in the order
// given, which should be the sorted order of Run). file maps a diagnostic's
// Pos.File to the name recorded (e.g. relative to the baseline file), and
// source returns a file's content (nil when unknown: the message is hashed
// instead).
func Fingerprints(ds []*Diagnostic, file func(string) string, source func(string) []byte) []Fingerprint {
	return fingerprints(ds, file, source, enclosingBlocks(ds, source))
}

// FingerprintsV1 are the fingerprints of baseline format 1, without the
// block context, for reading baselines written before format 2.
func FingerprintsV1(ds []*Diagnostic, file func(string) string, source func(string) []byte) []Fingerprint {
	return fingerprints(ds, file, source, nil)
}

func fingerprints(ds []*Diagnostic, file func(string) string, source func(string) []byte, blocks []string) []Fingerprint {
	out := make([]Fingerprint, len(ds))
	seen := map[Fingerprint]int{}
	for i, d := range ds {
		text := ""
		if data := source(d.Pos.File); data != nil {
			text = LineText(data, d.Pos.Offset)
		}
		if text == "" {
			text = "message:" + d.Message
		}
		id := d.Rule.ID + "\x00" + text
		if blocks != nil && blocks[i] != "" {
			id += "\x00in\x00" + blocks[i]
		}
		sum := sha256.Sum256([]byte(id))
		key := Fingerprint{Rule: d.Rule.ID, File: file(d.Pos.File), Hash: hex.EncodeToString(sum[:8])}
		fp := key
		fp.Occurrence = seen[key]
		seen[key]++
		out[i] = fp
	}
	return out
}

// enclosingBlocks returns, for each diagnostic, the whitespace-collapsed
// opening line of the innermost block ("{") around it in its file, "" at
// top level or without the file's text. Each file is scanned once, with
// its diagnostics in offset order, so the cost is linear in the files and
// findings. The scan knows nginx's comments and quotes well enough for
// this purpose; a wrong guess only makes an occurrence index less stable.
func enclosingBlocks(ds []*Diagnostic, source func(string) []byte) []string {
	out := make([]string, len(ds))
	byFile := map[string][]int{}
	for i, d := range ds {
		byFile[d.Pos.File] = append(byFile[d.Pos.File], i)
	}
	for f, idx := range byFile {
		data := source(f)
		if data == nil {
			continue
		}
		sort.SliceStable(idx, func(a, b int) bool { return ds[idx[a]].Pos.Offset < ds[idx[b]].Pos.Offset })
		var stack []int // offsets of the open "{"
		pos := 0
		var quote byte
		for _, i := range idx {
			off := min(max(ds[i].Pos.Offset, 0), len(data))
			for ; pos < off; pos++ {
				c := data[pos]
				switch {
				case quote != 0:
					if c == '\\' {
						pos++
					} else if c == quote {
						quote = 0
					}
				case c == '"' || c == '\'':
					quote = c
				case c == '#':
					for pos < off && data[pos] != '\n' {
						pos++
					}
				case c == '{':
					stack = append(stack, pos)
				case c == '}':
					if len(stack) > 0 {
						stack = stack[:len(stack)-1]
					}
				}
			}
			if len(stack) > 0 {
				out[i] = LineText(data, stack[len(stack)-1])
			}
		}
	}
	return out
}
