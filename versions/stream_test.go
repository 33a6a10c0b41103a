package versions

import "testing"

func TestStreamLua(t *testing.T) {
	for _, c := range []struct {
		openresty, want string
		ok              bool
	}{
		{"1.21.4.1", "0.0.11", true},
		{"1.25.3.1", "0.0.14", true},
		{"1.29.2.1", "0.0.17R4", true},
		{"1.11.2.5", "", false}, // no stream-lua in the bundle
	} {
		p, err := Resolve("", "", c.openresty)
		if err != nil {
			t.Fatal(err)
		}
		v, ok := p.StreamLua()
		if ok != c.ok || ok && v.String() != c.want {
			t.Errorf("%s: StreamLua() = %s, %v; want %s, %v", c.openresty, v, ok, c.want, c.ok)
		}
	}
	if _, ok := (Profile{Nginx: MustParse("1.22.1")}).StreamLua(); ok {
		t.Error("a stock nginx profile has no known stream-lua version")
	}
	// Every bundle of the table is a known OpenResty release.
	known := map[string]bool{}
	for _, b := range Bundles() {
		known[b.OpenResty] = true
	}
	for or := range streamLuaBundles {
		if !known[or] {
			t.Errorf("stream-lua table names OpenResty %s, which the bundle table lacks", or)
		}
	}
	// 0.0.14 < 0.0.17R4 < 0.0.18RC2 < 0.0.19rc3
	if !MustParse("0.0.14").Less("0.0.17R4") || !MustParse("0.0.17R4").Less("0.0.18RC2") || !MustParse("0.0.18RC2").Less("0.0.19rc3") {
		t.Error("stream-lua versions do not order")
	}
}
