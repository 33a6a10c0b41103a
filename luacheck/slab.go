package luacheck

// slab hands out zeroed values of T from blocks allocated together. The
// analysis creates a few hundred thousand small objects (items, values,
// variables) that all live until it ends: one allocation per block instead
// of one per object saves most of the allocator's and collector's work on
// them. Blocks grow from slabMin to slabMax elements, so that the many tiny
// chunks of a configuration do not each pay for a large block.
type slab[T any] struct {
	free []T
	next int // size of the next block
}

const (
	slabMin = 16
	slabMax = 512
)

// nextBlock returns the size of the next block of a slab or arena whose
// previous block had size *next, and records it.
func nextBlock(next *int) int {
	switch {
	case *next == 0:
		*next = slabMin
	case *next < slabMax:
		*next *= 2
	}
	return *next
}

func (s *slab[T]) new() *T {
	if len(s.free) == 0 {
		s.free = make([]T, nextBlock(&s.next))
	}
	p := &s.free[0]
	s.free = s.free[1:]
	return p
}

// arena hands out small slices for the per-object lists of the analysis
// (an item's accesses, a variable's values...), which mostly hold one or
// two elements: their first backing array comes from a shared block rather
// than from an allocation each. A slice's capacity is its own share of the
// block, so appending past it reallocates as usual and never writes into
// another slice's share.
type arena[T any] struct {
	block []T
	next  int // size of the next block, as for slab
}

// push appends x to s; a nil s first gets capacity c from the arena.
func (a *arena[T]) push(s []T, c int, x T) []T {
	if s == nil {
		if len(a.block) < c {
			a.block = make([]T, max(c, nextBlock(&a.next)))
		}
		s = a.block[:0:c]
		a.block = a.block[c:]
	}
	return append(s, x)
}
