// Package editdist measures how far apart two words are, for the "did you
// mean" suggestions of rule names, settings and directives: one
// implementation, so that every suggestion judges closeness the same way.
package editdist

// Distance is the optimal-string-alignment distance of a and b (bytes):
// insertions, deletions, substitutions and swaps of two neighbours each
// cost 1, so "proxy_next_upsteam" and "treshold" are one edit away. It
// stops early and returns limit+1 once every alignment costs more than
// limit.
func Distance(a, b string, limit int) int {
	prev2 := make([]int, len(b)+1)
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		rowMin := cur[0]
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			v := min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				v = min(v, prev2[j-2]+1)
			}
			cur[j] = v
			rowMin = min(rowMin, v)
		}
		if rowMin > limit {
			return limit + 1
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}
