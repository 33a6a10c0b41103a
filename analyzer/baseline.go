package analyzer

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
)

// Fingerprint identifies a finding across edits that move it: the rule, the
// file, a hash of the text of the line the finding starts on (whitespace
// collapsed, so re-indenting does not matter) and the occurrence index of
// that (rule, file, text) triple in file order. Line numbers are not part
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
		sum := sha256.Sum256([]byte(d.Rule.ID + "\x00" + text))
		key := Fingerprint{Rule: d.Rule.ID, File: file(d.Pos.File), Hash: hex.EncodeToString(sum[:8])}
		fp := key
		fp.Occurrence = seen[key]
		seen[key]++
		out[i] = fp
	}
	return out
}
