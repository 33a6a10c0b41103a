package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/ngxlint/ngxlint/analyzer"
)

// baselineVersion is the format version of baseline files (docs/ci.md).
// Version 2 hashes each finding's block context too
// (analyzer.Fingerprints); version 1 files are still read, and matched with
// the fingerprints they were written with.
const baselineVersion = 2

// baselineFile is the on-disk baseline: the fingerprints of accepted
// findings. line and message are for the people reviewing the file; only
// rule, file, hash and occurrence are matched, so the baseline survives
// lines being added or removed above a finding.
type baselineFile struct {
	Version  int             `json:"ngxlint_baseline"`
	Findings []baselineEntry `json:"findings"`
}

type baselineEntry struct {
	analyzer.Fingerprint
	Line    int    `json:"line"`
	Message string `json:"message"`
}

// baselineRelFunc names files relative to the baseline file's directory,
// so a baseline written in a checkout works from any working directory.
func baselineRelFunc(baselinePath string) func(string) string {
	dir, _ := filepath.Abs(".")
	if baselinePath != "" {
		if abs, err := filepath.Abs(baselinePath); err == nil {
			dir = filepath.Dir(abs)
		}
	}
	return func(file string) string {
		abs, err := filepath.Abs(file)
		if err != nil {
			return filepath.ToSlash(file)
		}
		rel, err := filepath.Rel(dir, abs)
		if err != nil {
			return filepath.ToSlash(abs)
		}
		return filepath.ToSlash(rel)
	}
}

// fingerprints computes every diagnostic's fingerprint with file names
// relative to baselinePath's directory (the working directory when empty).
func reportFingerprints(r *checkReport, baselinePath string) map[*analyzer.Diagnostic]analyzer.Fingerprint {
	return reportFingerprintsOf(r, baselinePath, baselineVersion)
}

// fingerprintsOf computes the fingerprints of baseline format version.
func reportFingerprintsOf(r *checkReport, baselinePath string, version int) map[*analyzer.Diagnostic]analyzer.Fingerprint {
	src := r.Sources()
	compute := analyzer.Fingerprints
	if version == 1 {
		compute = analyzer.FingerprintsV1
	}
	fps := compute(r.Diagnostics, baselineRelFunc(baselinePath), func(f string) []byte { return src[f] })
	m := make(map[*analyzer.Diagnostic]analyzer.Fingerprint, len(fps))
	for i, d := range r.Diagnostics {
		m[d] = fps[i]
	}
	return m
}

func writeBaseline(path string, r *checkReport) error {
	fps := reportFingerprints(r, path)
	b := baselineFile{Version: baselineVersion, Findings: []baselineEntry{}}
	for _, d := range r.Diagnostics {
		b.Findings = append(b.Findings, baselineEntry{Fingerprint: fps[d], Line: d.Pos.Line, Message: d.Message})
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(b); err != nil {
		return err
	}
	mode := os.FileMode(0o644)
	st, err := os.Stat(path)
	if err == nil {
		mode = st.Mode().Perm()
	} else {
		st = nil
	}
	return writeFileAtomic(path, buf.Bytes(), mode, st, nil)
}

// baseline is a read baseline file: its format version and entries.
type baseline struct {
	version int
	set     map[analyzer.Fingerprint]bool
}

func readBaseline(path string) (*baseline, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, usagef("--baseline: %v", err)
	}
	var b baselineFile
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&b); err != nil {
		return nil, usagef("--baseline %s: not an ngxlint baseline: %v", path, err)
	}
	if b.Version < 1 || b.Version > baselineVersion {
		return nil, usagef("--baseline %s: format version %d, this ngxlint reads 1 to %d (write it again with --write-baseline)", path, b.Version, baselineVersion)
	}
	set := make(map[analyzer.Fingerprint]bool, len(b.Findings))
	for _, e := range b.Findings {
		set[e.Fingerprint] = true
	}
	return &baseline{version: b.Version, set: set}, nil
}

// applyBaseline drops the findings whose fingerprint is in the baseline and
// returns how many were dropped and how many baseline entries matched
// nothing (fixed since: the baseline can be rewritten smaller).
func applyBaseline(r *checkReport, path string, b *baseline) (known, stale int) {
	fps := reportFingerprintsOf(r, path, b.version)
	base := b.set
	used := map[analyzer.Fingerprint]bool{}
	kept := r.Diagnostics[:0]
	for _, d := range r.Diagnostics {
		fp := fps[d]
		if base[fp] && !used[fp] {
			used[fp] = true
			known++
			continue
		}
		kept = append(kept, d)
	}
	r.Diagnostics = kept
	return known, len(base) - len(used)
}

func baselineNote(known, stale int, path string) string {
	s := fmt.Sprintf("%d known finding(s) hidden by the baseline %s", known, path)
	if stale > 0 {
		s += fmt.Sprintf("; %d baseline entr(y/ies) no longer occur: rewrite it with --write-baseline to keep it tight", stale)
	}
	return s
}
