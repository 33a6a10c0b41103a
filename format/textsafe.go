package format

import (
	"bytes"
	"io"
	"unicode/utf8"
)

// The text format prints strings that come from the repository under test:
// file names, words of the configuration quoted in messages, and in traces
// what the user's Lua logged or raised. Printed raw, such a string could
// forge output lines of its own. CI runners read commands from a job's
// output: GitHub's runner takes a line that starts with "::" after optional
// white space as a workflow command ("::warning file=...::", "::add-mask::",
// "::stop-commands::") and "##[" anywhere in a line as a log command; Azure
// Pipelines takes "##vso[". A terminal runs escape sequences. So every such
// string goes through AppendSafe, which
//
//   - writes control characters (C0, DEL, C1, including CR and LF, which
//     would start a new line), the Unicode bidirectional controls of
//     "Trojan Source" (CVE-2021-42574) and invalid UTF-8 as visible escapes
//     (\n, \x1b, \u202e);
//   - writes "##" as "#\x23", so no "##[" or "##vso[" reaches the log;
//   - writes "::" as "\x3a:" when it would be the first non-blank text of
//     an output line.
//
// Our own text never contains these, so it prints unchanged.

// AppendSafe appends s to b with the escapes above. Whether s starts an
// output line is read from b itself: only blanks since b's last newline.
func AppendSafe(b []byte, s string) []byte {
	// Fast path: printable ASCII with no '#' or ':' needs nothing.
	clean := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '#' || c == ':' {
			clean = false
			break
		}
	}
	if clean {
		return append(b, s...)
	}
	lineStart := atLineStart(b)
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '\t' || c == ' ':
			b = append(b, c)
			i++
			continue
		case c == '\n':
			b = append(b, `\n`...)
		case c == '\r':
			b = append(b, `\r`...)
		case c < 0x20 || c == 0x7f:
			b = appendHexByte(b, c)
		case c == '#' && i+1 < len(s) && s[i+1] == '#':
			b = append(b, `#\x23`...)
			i += 2
			lineStart = false
			continue
		case c == ':' && lineStart && i+1 < len(s) && s[i+1] == ':':
			b = append(b, `\x3a:`...)
			i += 2
			lineStart = false
			continue
		case c < utf8.RuneSelf:
			b = append(b, c)
		default:
			r, size := utf8.DecodeRuneInString(s[i:])
			switch {
			case r == utf8.RuneError && size <= 1:
				b = appendHexByte(b, c)
				size = 1
			case unsafeRune(r):
				b = append(b, `\u`...)
				b = appendHex(b, uint32(r))
			default:
				b = append(b, s[i:i+size]...)
			}
			i += size
			lineStart = false
			continue
		}
		lineStart = false
		i++
	}
	return b
}

// unsafeRune reports C1 controls and the bidirectional overrides and
// isolates, which reorder how a terminal or a web log shows the text.
func unsafeRune(r rune) bool {
	return (r >= 0x80 && r <= 0x9f) || (r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069) ||
		r == 0x200e || r == 0x200f || r == 0x061c
}

func atLineStart(b []byte) bool {
	for i := len(b) - 1; i >= 0; i-- {
		switch b[i] {
		case '\n':
			return true
		case ' ', '\t':
		default:
			return false
		}
	}
	return true
}

const hexDigits = "0123456789abcdef"

func appendHexByte(b []byte, c byte) []byte {
	return append(b, '\\', 'x', hexDigits[c>>4], hexDigits[c&15])
}

func appendHex(b []byte, v uint32) []byte {
	return append(b, hexDigits[v>>12&15], hexDigits[v>>8&15], hexDigits[v>>4&15], hexDigits[v&15])
}

// SafeLines is a writer for multi-line text made of our own words and the
// repository's (emulator traces, the retry table): each line is written
// through AppendSafe, so a line break inside a Lua message cannot forge a
// line, and the lines keep their layout.
type SafeLines struct {
	w       io.Writer
	pending []byte
	out     []byte
}

func NewSafeLines(w io.Writer) *SafeLines { return &SafeLines{w: w} }

func (s *SafeLines) Write(p []byte) (int, error) {
	s.pending = append(s.pending, p...)
	last := bytes.LastIndexByte(s.pending, '\n')
	if last < 0 {
		return len(p), nil
	}
	s.out = s.out[:0]
	for _, line := range bytes.SplitAfter(s.pending[:last+1], []byte{'\n'}) {
		if len(line) == 0 {
			continue
		}
		s.out = AppendSafe(s.out, string(line[:len(line)-1]))
		s.out = append(s.out, '\n')
	}
	s.pending = append(s.pending[:0], s.pending[last+1:]...)
	if _, err := s.w.Write(s.out); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Flush writes a last line that has no newline.
func (s *SafeLines) Flush() error {
	if len(s.pending) == 0 {
		return nil
	}
	out := AppendSafe(nil, string(s.pending))
	s.pending = s.pending[:0]
	_, err := s.w.Write(out)
	return err
}
