package editdist

import "testing"

func TestDistance(t *testing.T) {
	for _, c := range []struct {
		a, b  string
		limit int
		want  int
	}{
		{"", "", 3, 0},
		{"abc", "abc", 3, 0},
		{"proxy_next_upstream", "proxy_next_upsteam", 3, 1}, // deletion
		{"threshold", "treshold", 3, 1},
		{"ab", "ba", 3, 1},          // a swap is one edit
		{"kitten", "sitting", 5, 3}, // substitutions and an insertion
		{"abcdef", "uvwxyz", 2, 3},  // stops early: limit+1
		{"chek", "check", 3, 1},
	} {
		if got := Distance(c.a, c.b, c.limit); got != c.want {
			t.Errorf("Distance(%q, %q, %d) = %d, want %d", c.a, c.b, c.limit, got, c.want)
		}
	}
}
