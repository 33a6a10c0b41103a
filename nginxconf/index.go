package nginxconf

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
			ix.entries = append(ix.entries, indexEntry{d: d, parent: parent})
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
	for _, e := range ix.entries {
		if nameIn(e.d.Name, names) {
			out = append(out, e.d)
		}
	}
	return out
}

// Each calls fn for every directive called one of names, in Walk order,
// with its enclosing blocks outermost first as Walk gives them (fn must
// not retain parents). With no names it visits every directive. Unlike
// Walk, it cannot skip a block: a check that must not look inside some
// blocks tests the parents.
func (ix *Index) Each(fn func(d *Directive, parents []*Directive), names ...string) {
	// In Walk order an entry's parent is the entry just before it (a
	// block opens) or on the chain of the one before: keep the chain as
	// a stack rather than climbing it for every entry.
	var chain []int32
	var parents []*Directive
	for i, e := range ix.entries {
		if e.parent >= 0 && e.parent == int32(i)-1 {
			chain = append(chain, e.parent)
			parents = append(parents, ix.entries[e.parent].d)
		} else {
			for len(chain) > 0 && chain[len(chain)-1] != e.parent {
				chain, parents = chain[:len(chain)-1], parents[:len(parents)-1]
			}
		}
		if len(names) == 0 || nameIn(e.d.Name, names) {
			fn(e.d, parents)
		}
	}
}

func nameIn(name string, names []string) bool {
	for _, n := range names {
		if n == name {
			return true
		}
	}
	return false
}
