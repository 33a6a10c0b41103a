package nginxconf

import (
	"bytes"
	"fmt"
	"io/fs"
	"path"
	"strings"
	"testing/fstest"
)

// nginx -T prints the configuration it read as one stream: for each file,
// in the order it read them, the line "# configuration file PATH:", the
// file's bytes, and one more newline (src/core/nginx.c, ngx_dump_config).
// This file splits such a dump back into its files so that a user can check
// what a server really runs ("nginx -T | ngxlint check -") without copying
// /etc/nginx.
//
// The split is by the marker line, as nginx writes it: a file whose own
// text contains a line "# configuration file X:" would be cut there, as it
// would by any reader of the dump; nginx gives no way to tell them apart.

// dumpMarker starts the line nginx -T writes before each file.
const dumpMarker = "# configuration file "

// DumpFile is one file of an nginx -T dump.
type DumpFile struct {
	// Path is the file's path as nginx printed it (absolute, as nginx
	// opened it).
	Path string
	Data []byte
	// Line is the dump's line where the file's first line is.
	Line int
}

// Dump is nginx -T output split into files.
type Dump struct {
	// Files are the dump's files in nginx's order; the first is the main
	// configuration file.
	Files []DumpFile
	// Notes say what the split skipped: text before the first marker,
	// nginx's own status lines, a file printed twice.
	Notes []string
}

// IsDump reports whether data looks like nginx -T output: its first
// non-blank line that is not one of nginx's status lines is a marker line.
func IsDump(data []byte) bool {
	for len(data) > 0 {
		line, rest, _ := bytes.Cut(data, []byte("\n"))
		data = rest
		t := strings.TrimSpace(string(line))
		if t == "" || nginxStatusLine(t) {
			continue
		}
		_, ok := markerPath(string(bytes.TrimSuffix(line, []byte("\r"))))
		return ok
	}
	return false
}

// markerPath returns PATH of a line "# configuration file PATH:".
func markerPath(line string) (string, bool) {
	rest, ok := strings.CutPrefix(line, dumpMarker)
	if !ok {
		return "", false
	}
	p, ok := strings.CutSuffix(rest, ":")
	if !ok || p == "" || strings.ContainsRune(p, 0) {
		return "", false
	}
	return p, true
}

// nginxStatusLine reports whether a line is one nginx -t writes to stderr,
// which "nginx -T 2>&1" mixes into the dump.
func nginxStatusLine(t string) bool {
	if !strings.HasPrefix(t, "nginx: ") {
		return false
	}
	return strings.HasSuffix(t, " syntax is ok") || strings.HasSuffix(t, " test is successful") ||
		strings.Contains(t, "[warn]") || strings.Contains(t, "[notice]") || strings.Contains(t, "[alert]")
}

// SplitDump splits nginx -T output into its files. It fails when data has
// no marker line; it never panics.
func SplitDump(data []byte) (*Dump, error) {
	d := &Dump{}
	seen := map[string]bool{}
	var cur *DumpFile
	var body []byte
	lineNo := 0
	finish := func() {
		if cur == nil {
			return
		}
		// nginx ends every file with one newline of its own.
		body = bytes.TrimSuffix(body, []byte("\n"))
		cur.Data = body
		if seen[cur.Path] {
			d.Notes = append(d.Notes, fmt.Sprintf("dump line %d: %s is printed twice; the first copy is used", cur.Line-1, cur.Path))
		} else {
			seen[cur.Path] = true
			d.Files = append(d.Files, *cur)
		}
		cur, body = nil, nil
	}
	lead := 0
	for rest := data; len(rest) > 0; {
		lineNo++
		line, after, hasNL := bytes.Cut(rest, []byte("\n"))
		rest = after
		if p, ok := markerPath(string(bytes.TrimSuffix(line, []byte("\r")))); ok {
			finish()
			cur = &DumpFile{Path: p, Line: lineNo + 1}
			continue
		}
		if cur == nil {
			if t := strings.TrimSpace(string(line)); t != "" && !nginxStatusLine(t) {
				lead++
			}
			continue
		}
		body = append(body, line...)
		if hasNL {
			body = append(body, '\n')
		}
	}
	if cur != nil {
		// "nginx -T 2>&1" may put nginx's status lines after the last
		// file; they are not configuration.
		for {
			t := bytes.TrimRight(body, "\n")
			i := bytes.LastIndexByte(t, '\n')
			last := strings.TrimSpace(string(t[i+1:]))
			if last == "" || !nginxStatusLine(last) {
				break
			}
			body = t[: i+1 : i+1]
			d.Notes = append(d.Notes, "dropped nginx's status line \""+short(last)+"\" after the last file")
		}
	}
	finish()
	if len(d.Files) == 0 {
		return nil, fmt.Errorf("no %q line: not nginx -T output", strings.TrimSpace(dumpMarker)+" PATH:")
	}
	if lead > 0 {
		d.Notes = append(d.Notes, fmt.Sprintf("skipped %d line(s) before the first file", lead))
	}
	return d, nil
}

// FS returns the dump's files as a file system rooted at "/", the layout
// Load expects: "/etc/nginx/nginx.conf" is "etc/nginx/nginx.conf".
func (d *Dump) FS() fs.FS {
	m := fstest.MapFS{}
	for _, f := range d.Files {
		m[dumpKey(f.Path)] = &fstest.MapFile{Data: f.Data, Mode: 0o644}
	}
	return m
}

// Main is the main configuration file's path in FS.
func (d *Dump) Main() string { return dumpKey(d.Files[0].Path) }

// dumpKey maps a printed path to its name in FS: absolute paths lose the
// leading slash; a relative one (nginx run with a relative -c) is kept
// relative to the root.
func dumpKey(p string) string {
	k := strings.TrimPrefix(path.Clean("/"+p), "/")
	if k == "" {
		return "."
	}
	return k
}

// LoadDump splits nginx -T output and loads the configuration it holds,
// with its includes read from the dump. The load's notes start with what
// the split skipped.
func LoadDump(data []byte, opts Options) (*Config, error) {
	d, err := SplitDump(data)
	if err != nil {
		return nil, err
	}
	if opts.Prefix == "" {
		// nginx resolves relative includes against the directory of the
		// main file (its conf prefix), which the dump's paths give.
		opts.Prefix = path.Dir("/" + d.Main())
	}
	cfg := Load(d.FS(), d.Main(), opts)
	notes := make([]*Error, 0, len(d.Notes)+len(cfg.Notes))
	for _, n := range d.Notes {
		notes = append(notes, &Error{Msg: "nginx -T: " + n})
	}
	cfg.Notes = append(notes, cfg.Notes...)
	return cfg, nil
}
