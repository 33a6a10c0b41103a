package versions

import (
	"fmt"
	"strings"
)

// Profile is the set of versions a configuration runs on. A zero Version
// field means unknown: rules must treat that explicitly (say which versions
// would be affected) rather than assume the newest.
type Profile struct {
	Nginx     Version
	LNM       Version // lua-nginx-module
	Core      Version // lua-resty-core
	OpenResty Version
	// Patch flags describe OpenResty's nginx patches. They are only ever
	// true for an OpenResty bundle that applies them; stock nginx with a
	// dynamically loaded lua-nginx-module (Debian's libnginx-mod-http-lua)
	// has none of them.
	NotifyPatch     bool
	StatusCodePatch bool
	// Assumed lists the facts that were inferred rather than declared,
	// e.g. "nginx 1.9.7 (the only nginx lua-nginx-module 0.10.0 shipped
	// with)". Reports print it so a reader knows what was guessed.
	Assumed []string
}

// HasNginx reports whether the nginx version is known.
func (p Profile) HasNginx() bool { return !p.Nginx.IsZero() }

// HasLNM reports whether the lua-nginx-module version is known.
func (p Profile) HasLNM() bool { return !p.LNM.IsZero() }

// IsOpenResty reports whether the profile is an OpenResty bundle.
func (p Profile) IsOpenResty() bool { return !p.OpenResty.IsZero() }

func (p Profile) String() string {
	var parts []string
	if p.IsOpenResty() {
		parts = append(parts, "openresty "+p.OpenResty.String())
	}
	parts = append(parts, "nginx "+p.Nginx.String(), "lua-nginx-module "+p.LNM.String())
	if !p.Core.IsZero() {
		parts = append(parts, "lua-resty-core "+p.Core.String())
	}
	return strings.Join(parts, ", ")
}

// Resolve builds a Profile from declared versions; any may be empty. An
// OpenResty version fills nginx, lua-nginx-module and lua-resty-core from
// the bundle table; explicitly declared nginx / lua-nginx-module versions
// must then agree with it. An OpenResty version missing from the table still
// names its nginx (the first three parts), and leaves the module unknown.
func Resolve(nginx, lnm, openresty string) (Profile, error) {
	var p Profile
	var err error
	if nginx != "" {
		if p.Nginx, err = Parse(nginx); err != nil {
			return Profile{}, fmt.Errorf("nginx version: %w", err)
		}
		// nginx versions are X.Y.Z; a fourth part is an OpenResty
		// release, which names other components too.
		if p.Nginx.n != 3 {
			return Profile{}, fmt.Errorf("nginx version %q: nginx versions have three parts, like 1.22.1%s", nginx, looksLikeOpenResty(nginx))
		}
	}
	if lnm != "" {
		if p.LNM, err = Parse(lnm); err != nil {
			return Profile{}, fmt.Errorf("lua-nginx-module version: %w", err)
		}
	}
	if openresty == "" {
		return p, nil
	}
	or, err := Parse(openresty)
	if err != nil {
		return Profile{}, fmt.Errorf("openresty version: %w", err)
	}
	if or.n != 4 {
		return Profile{}, fmt.Errorf("OpenResty version %q: OpenResty versions have four parts, the nginx version and a release, like 1.21.4.1 (known: %s)", openresty, nearestBundles(or))
	}
	p.OpenResty = or
	if b, ok := LookupBundle(openresty); ok {
		bn, bl := MustParse(b.Nginx), MustParse(b.LNM)
		if !p.Nginx.IsZero() && p.Nginx.Compare(bn) != 0 {
			return Profile{}, fmt.Errorf("OpenResty %s bundles nginx %s, not %s", b.OpenResty, b.Nginx, p.Nginx)
		}
		if !p.LNM.IsZero() && p.LNM.Compare(bl) != 0 {
			return Profile{}, fmt.Errorf("OpenResty %s bundles lua-nginx-module %s, not %s", b.OpenResty, b.LNM, p.LNM)
		}
		p.Nginx, p.LNM, p.Core = bn, bl, MustParse(b.Core)
		p.NotifyPatch, p.StatusCodePatch = b.NotifyPatch, b.StatusCodePatch
		return p, nil
	}
	// OpenResty versions are the nginx version plus a release number: the
	// nginx part is known, the modules are not (a typo such as 1.21.4.9
	// must not silently leave them unknown).
	if p.Nginx.IsZero() {
		p.Nginx = Version{parts: [4]int{or.parts[0], or.parts[1], or.parts[2]}, n: 3}
	}
	msg := fmt.Sprintf("OpenResty %s is not a release ngxlint knows (nearest: %s): nginx is taken as %s", or, nearestBundles(or), p.Nginx)
	if p.LNM.IsZero() {
		msg += "; lua-nginx-module stays unknown (declare it with --lua-nginx-module-version)"
	}
	p.Assumed = append(p.Assumed, msg)
	return p, nil
}

// nearestBundles names the known OpenResty releases closest to v: those of
// the same nginx version, or else the releases just before and after it.
func nearestBundles(v Version) string {
	var same []string
	before, after := "", ""
	for _, b := range bundles {
		bv := MustParse(b.OpenResty)
		if bv.parts[0] == v.parts[0] && bv.parts[1] == v.parts[1] && bv.parts[2] == v.parts[2] {
			same = append(same, b.OpenResty)
		}
		if bv.Compare(v) < 0 {
			before = b.OpenResty
		} else if after == "" {
			after = b.OpenResty
		}
	}
	if len(same) > 0 {
		return strings.Join(same, ", ")
	}
	var near []string
	for _, s := range []string{before, after} {
		if s != "" {
			near = append(near, s)
		}
	}
	return strings.Join(near, ", ")
}

// looksLikeOpenResty suggests --openresty-version for a four-part version
// that is a known bundle.
func looksLikeOpenResty(s string) string {
	if b, ok := LookupBundle(s); ok {
		return fmt.Sprintf("; %s is an OpenResty release (nginx %s): declare it as OpenResty (--openresty-version, or openresty: in versions)", b.OpenResty, b.Nginx)
	}
	return ""
}

// Concrete returns a profile with every unknown version filled in, for
// running an emulation, which needs definite behaviour. It prefers facts the
// declared versions imply (lua-nginx-module 0.10.0 only ever shipped with
// nginx 1.9.7) and otherwise falls back to stock Debian 12 (nginx 1.22.1,
// lua-nginx-module 0.10.23), the modern reference profile this project tests
// against real nginx. Each filled-in value is recorded in Assumed.
func (p Profile) Concrete() Profile {
	q := p
	q.Assumed = append([]string(nil), p.Assumed...)
	if q.Nginx.IsZero() && !q.LNM.IsZero() {
		if bs := BundlesWithLNM(q.LNM); len(bs) > 0 {
			q.Nginx = MustParse(bs[0].Nginx)
			q.Assumed = append(q.Assumed, fmt.Sprintf("nginx %s (shipped with lua-nginx-module %s in OpenResty %s)", bs[0].Nginx, q.LNM, bs[0].OpenResty))
		} else if q.LNM.Compare(MustParse("0.10.23")) == 0 {
			q.Nginx = MustParse("1.22.1")
			q.Assumed = append(q.Assumed, "nginx 1.22.1 (Debian 12 pairs it with lua-nginx-module 0.10.23)")
		} else if b, ok := firstBundleFrom(q.LNM); ok {
			// A module release no bundle shipped was built against the nginx
			// of its era: take the first bundle that ships a module at least
			// as new (0.10.1 -> OpenResty 1.9.7.4, nginx 1.9.7).
			q.Nginx = MustParse(b.Nginx)
			q.Assumed = append(q.Assumed, fmt.Sprintf("nginx %s (the nginx of OpenResty %s, the first bundle with lua-nginx-module >= %s)", b.Nginx, b.OpenResty, q.LNM))
		}
	}
	if q.Nginx.IsZero() {
		q.Nginx = MustParse("1.22.1")
		q.Assumed = append(q.Assumed, "nginx 1.22.1 (unknown; Debian 12's)")
	}
	if q.LNM.IsZero() {
		q.LNM = MustParse("0.10.23")
		q.Assumed = append(q.Assumed, "lua-nginx-module 0.10.23 (unknown; Debian 12's)")
	}
	return q
}

// firstBundleFrom returns the oldest bundle whose lua-nginx-module is at
// least v.
func firstBundleFrom(v Version) (Bundle, bool) {
	for _, b := range bundles {
		if MustParse(b.LNM).Compare(v) >= 0 {
			return b, true
		}
	}
	return Bundle{}, false
}
