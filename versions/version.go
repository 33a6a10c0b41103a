package versions

import (
	"fmt"
	"strconv"
	"strings"
)

// Version is a dotted version with up to four numeric parts and an optional
// pre-release suffix, as the projects spell them: "1.9.7", "1.29.2.4",
// "0.10.31rc2", "0.10.30RC1", "0.10.29R2", "0.1.34rc2".
//
// Ordering: numeric parts first; then a release without suffix sorts after
// any rcN/RCN of the same numbers (0.10.1rc1 < 0.10.1), and an "RN" suffix
// (OpenResty's re-release marker, e.g. 0.10.29R2) sorts after the plain
// release. This matches how the knowledge file places 60ebb5c: first shipped
// in v0.10.1, not in v0.10.1rc0/rc1.
type Version struct {
	parts [4]int
	n     int    // number of numeric parts given; 0 means the zero Version
	pre   string // lower-cased suffix kind: "rc" or "r" (re-release), "" none
	preN  int
	raw   string
}

// Parse parses a version string. A leading "v" is accepted.
func Parse(s string) (Version, error) {
	raw := strings.TrimSpace(s)
	t := strings.TrimPrefix(strings.TrimPrefix(raw, "v"), "V")
	if t == "" {
		return Version{}, fmt.Errorf("empty version")
	}
	var v Version
	v.raw = raw
	// A hand-written split: rules compare against version literals
	// (AtLeast, Less) per location of large configurations, and
	// strings.Split's allocation was a visible share of a check.
	n := 0
	for rest := t; ; n++ {
		if n == 4 {
			return Version{}, fmt.Errorf("version %q: more than four parts", raw)
		}
		f, tail, more := strings.Cut(rest, ".")
		digits := f
		if !more {
			// The suffix may only follow the last numeric part.
			j := 0
			for j < len(f) && f[j] >= '0' && f[j] <= '9' {
				j++
			}
			digits = f[:j]
			if suf := f[j:]; suf != "" {
				if err := v.setSuffix(suf); err != nil {
					return Version{}, fmt.Errorf("version %q: %w", raw, err)
				}
			}
		}
		if digits == "" || len(digits) > 9 {
			return Version{}, fmt.Errorf("version %q: part %d is not a number", raw, n+1)
		}
		x := 0
		for i := 0; i < len(digits); i++ {
			if digits[i] < '0' || digits[i] > '9' {
				return Version{}, fmt.Errorf("version %q: part %d is not a number", raw, n+1)
			}
			x = x*10 + int(digits[i]-'0')
		}
		v.parts[n] = x
		if !more {
			break
		}
		rest = tail
	}
	v.n = n + 1
	return v, nil
}

func (v *Version) setSuffix(suf string) error {
	l := strings.ToLower(suf)
	var kind string
	switch {
	case strings.HasPrefix(l, "rc"):
		kind = "rc"
	case strings.HasPrefix(l, "r"):
		kind = "r"
	default:
		return fmt.Errorf("unknown suffix %q", suf)
	}
	num := l[len(kind):]
	n := 0
	if num != "" {
		var err error
		n, err = strconv.Atoi(num)
		if err != nil || n < 0 {
			return fmt.Errorf("unknown suffix %q", suf)
		}
	}
	v.pre, v.preN = kind, n
	return nil
}

// MustParse is Parse for constant tables; it panics on a malformed literal,
// which a test of the table catches.
func MustParse(s string) Version {
	v, err := Parse(s)
	if err != nil {
		panic(err)
	}
	return v
}

// IsZero reports whether v is the zero Version (an unknown version).
func (v Version) IsZero() bool { return v.n == 0 }

// String returns the version as it was written (or "unknown").
func (v Version) String() string {
	if v.IsZero() {
		return "unknown"
	}
	if v.raw != "" {
		return strings.TrimPrefix(v.raw, "v")
	}
	var b strings.Builder
	for i := 0; i < v.n; i++ {
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(strconv.Itoa(v.parts[i]))
	}
	return b.String()
}

func (v Version) suffixRank() int {
	switch v.pre {
	case "rc":
		return -1
	case "r":
		return 1
	}
	return 0
}

// Compare returns -1, 0 or +1. Missing numeric parts count as 0, so 1.9 == 1.9.0.
func (v Version) Compare(o Version) int {
	for i := 0; i < 4; i++ {
		if v.parts[i] != o.parts[i] {
			if v.parts[i] < o.parts[i] {
				return -1
			}
			return 1
		}
	}
	if a, b := v.suffixRank(), o.suffixRank(); a != b {
		if a < b {
			return -1
		}
		return 1
	}
	if v.preN != o.preN {
		if v.preN < o.preN {
			return -1
		}
		return 1
	}
	return 0
}

// AtLeast reports whether v >= s. s must be a valid version literal.
func (v Version) AtLeast(s string) bool { return v.Compare(MustParse(s)) >= 0 }

// Less reports whether v < s. s must be a valid version literal.
func (v Version) Less(s string) bool { return v.Compare(MustParse(s)) < 0 }

// InRange reports whether from <= v < to; an empty bound is open.
func (v Version) InRange(from, to string) bool {
	if from != "" && v.Less(from) {
		return false
	}
	if to != "" && !v.Less(to) {
		return false
	}
	return true
}
