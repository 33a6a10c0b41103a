package versions

// streamLuaBundles is the stream-lua-nginx-module release each OpenResty
// bundle ships: the ver= line before the stream-lua-nginx-module tarball in
// util/mirror-tarballs at each openresty/openresty release tag. Bundles
// before 1.13.6.1 ship none. Every bundle that ships it also applies the
// nginx patch stream_proxy_get_next_upstream_tries (the same file names
// it), which set_more_tries needs to know proxy_next_upstream_tries.
var streamLuaBundles = map[string]string{
	"1.13.6.1": "0.0.3", "1.13.6.2": "0.0.5",
	"1.15.8.1": "0.0.7", "1.15.8.2": "0.0.7", "1.15.8.3": "0.0.7",
	"1.17.8.1": "0.0.8", "1.17.8.2": "0.0.8",
	"1.19.3.1": "0.0.9", "1.19.3.2": "0.0.9",
	"1.19.9.1": "0.0.10", "1.19.9.2": "0.0.10",
	"1.21.4.1": "0.0.11", "1.21.4.2": "0.0.13", "1.21.4.3": "0.0.13", "1.21.4.4": "0.0.13",
	"1.25.3.1": "0.0.14", "1.25.3.2": "0.0.14",
	"1.27.1.1": "0.0.15", "1.27.1.2": "0.0.16",
	"1.29.2.1": "0.0.17R4", "1.29.2.2": "0.0.18RC2", "1.29.2.3": "0.0.18RC2",
	"1.29.2.4": "0.0.19rc3", "1.29.2.5": "0.0.19rc3",
	"1.31.1.1": "0.0.19rc4",
}

// StreamLua returns the stream-lua-nginx-module release of the profile's
// OpenResty bundle. ok is false when the profile is not a bundle (a stock
// nginx with stream-lua built in says nothing about its version) or the
// bundle ships none.
func (p Profile) StreamLua() (v Version, ok bool) {
	if !p.IsOpenResty() {
		return Version{}, false
	}
	s, ok := streamLuaBundles[p.OpenResty.String()]
	if !ok {
		return Version{}, false
	}
	v, err := Parse(s)
	return v, err == nil
}

// StreamTriesPatch reports whether the profile's nginx carries OpenResty's
// stream_proxy_get_next_upstream_tries patch: every OpenResty bundle that
// ships stream-lua-nginx-module applies it; a stock nginx never has it.
func (p Profile) StreamTriesPatch() bool {
	_, ok := p.StreamLua()
	return ok
}
