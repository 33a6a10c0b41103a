package nginxconf

import "slices"

// Index is a configuration's directives flattened in Walk order. Many
// checks look at a handful of names (ssl_protocols, resolver, map...)
// anywhere in the tree; a scan of a flat slice that compares names is a
// fraction of a recursive walk through blocks and included files, and a
// run builds the slice once for all its rules (a 128k-line configuration
// has ~100k directives). Build one per loaded configuration with NewIndex
// and share it; it is read-only after that.
type Index struct {
	entries []indexEntry
}

type indexEntry struct {
	d *Directive
	// parent is the entry index of the enclosing block directive (across
	// files, as Walk's parents), -1 at the top.
	parent int32
	// name is a hash of d.Name: a scan for a few names compares it first
	// and the strings only when it matches.
	name uint32
}

// nameHash is FNV-1a over a directive name.
func nameHash(s string) uint32 {
	h := uint32(2166136261)
	for i := 0; i < len(s); i++ {
		h ^= uint32(s[i])
		h *= 16777619
	}
	return h
}

// NewIndex flattens c. A nil or unread configuration gives an empty index.
func NewIndex(c *Config) *Index {
	ix := &Index{}
	if c == nil || c.Main == nil {
		return ix
	}
	var walk func(ds []*Directive, parent int32)
	walk = func(ds []*Directive, parent int32) {
		for _, d := range ds {
			i := int32(len(ix.entries))
			ix.entries = append(ix.entries, indexEntry{d: d, parent: parent, name: nameHash(d.Name)})
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

// Named returns the directives called one of names, in Walk order, in a
// new slice.
func (ix *Index) Named(names ...string) []*Directive {
	var out []*Directive
	ix.scan(names, func(i int) { out = append(out, ix.entries[i].d) })
	return out
}

// Each calls fn for every directive called one of names, in Walk order,
// with its enclosing blocks outermost first as Walk gives them (fn must
// not retain parents). With no names it visits every directive. Unlike
// Walk, it cannot skip a block: a check that must not look inside some
// blocks tests the parents.
func (ix *Index) Each(fn func(d *Directive, parents []*Directive), names ...string) {
	var parents []*Directive
	if len(names) > 0 {
		// Few entries match: climb each one's chain.
		ix.scan(names, func(i int) {
			parents = parents[:0]
			for p := ix.entries[i].parent; p >= 0; p = ix.entries[p].parent {
				parents = append(parents, ix.entries[p].d)
			}
			slices.Reverse(parents)
			fn(ix.entries[i].d, parents)
		})
		return
	}
	// Every entry: in Walk order an entry's parent is the entry just
	// before it (a block opens) or on the chain of the one before, so
	// the chain is kept as a stack.
	var chain []int32
	for i, e := range ix.entries {
		if e.parent >= 0 && e.parent == int32(i)-1 {
			chain = append(chain, e.parent)
			parents = append(parents, ix.entries[e.parent].d)
		} else {
			for len(chain) > 0 && chain[len(chain)-1] != e.parent {
				chain, parents = chain[:len(chain)-1], parents[:len(parents)-1]
			}
		}
		fn(e.d, parents)
	}
}

// scan calls visit with the position of every entry called one of names.
func (ix *Index) scan(names []string, visit func(i int)) {
	hs := make([]uint32, len(names))
	for k, n := range names {
		hs[k] = nameHash(n)
	}
	for i := range ix.entries {
		h := ix.entries[i].name
		for k, nh := range hs {
			if h == nh && ix.entries[i].d.Name == names[k] {
				visit(i)
				break
			}
		}
	}
}
