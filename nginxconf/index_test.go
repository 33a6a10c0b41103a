package nginxconf

import (
	"slices"
	"testing"
)

// checkIndex verifies that an Index visits what Walk visits, in the same
// order and with the same parents, both over everything and by name. It
// runs from checkInvariants, so over the cases, the corpus and the fuzzer.
func checkIndex(t testing.TB, cfg *Config) {
	t.Helper()
	type visit struct {
		d       *Directive
		parents []*Directive
	}
	var want []visit
	cfg.Walk(func(d *Directive, parents []*Directive) bool {
		want = append(want, visit{d, slices.Clone(parents)})
		return true
	})
	ix := NewIndex(cfg)
	if ix.Len() != len(want) {
		t.Fatalf("index holds %d directives, Walk visits %d", ix.Len(), len(want))
	}
	same := func(what string, got, want []visit) {
		t.Helper()
		if len(got) != len(want) {
			t.Fatalf("%s: %d visits, Walk gives %d", what, len(got), len(want))
		}
		for i := range got {
			if got[i].d != want[i].d || !slices.Equal(got[i].parents, want[i].parents) {
				t.Fatalf("%s: visit %d is %s at %s (%d parents), Walk gives %s at %s (%d parents)", what, i,
					got[i].d.Name, got[i].d.Pos, len(got[i].parents), want[i].d.Name, want[i].d.Pos, len(want[i].parents))
			}
		}
	}
	var got []visit
	ix.Each(func(d *Directive, parents []*Directive) { got = append(got, visit{d, slices.Clone(parents)}) })
	same("every directive", got, want)

	// Two names, one of them given twice, and one name alone.
	names := []string{"location", "server", "location"}
	if len(want) > 0 {
		names[1] = want[len(want)/2].d.Name
	}
	var filtered []visit
	for _, v := range want {
		if slices.Contains(names, v.d.Name) {
			filtered = append(filtered, v)
		}
	}
	got = got[:0]
	ix.Each(func(d *Directive, parents []*Directive) { got = append(got, visit{d, slices.Clone(parents)}) }, names...)
	same("names "+names[0]+", "+names[1], got, filtered)
	var named []*Directive
	for _, v := range want {
		if v.d.Name == names[1] {
			named = append(named, v.d)
		}
	}
	if g := ix.Named(names[1], names[1]); !slices.Equal(g, named) {
		t.Fatalf("Named(%q): %d directives, Walk finds %d", names[1], len(g), len(named))
	}
}

func TestIndexEmpty(t *testing.T) {
	for _, cfg := range []*Config{nil, {}} {
		ix := NewIndex(cfg)
		if ix.Len() != 0 || len(ix.Named("http")) != 0 {
			t.Fatalf("index of %v is not empty", cfg)
		}
		ix.Each(func(*Directive, []*Directive) { t.Fatal("visited a directive of an empty configuration") })
	}
}
