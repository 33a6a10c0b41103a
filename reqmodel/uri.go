package reqmodel

import (
	"errors"
	"strings"
)

// ErrBadURI is nginx's 400 for a request target it refuses to normalise:
// a ".." that climbs above the root, a NUL byte, a target that is not a
// path.
var ErrBadURI = errors.New("nginx answers 400 Bad Request")

// SplitTarget splits a request target into its path and its arguments (the
// raw query string: $args), as ngx_http_parse_request_line does at the
// first '?'.
func SplitTarget(target string) (path, args string, hasArgs bool) {
	path, args, hasArgs = strings.Cut(target, "?")
	return path, args, hasArgs
}

// NormalizeURI turns the raw path of a request target into $uri the way
// ngx_http_parse_complex_uri does with merge_slashes on (the default):
// %XX sequences are decoded and the decoded byte is parsed as if it had
// been written (so "%2e%2e" is a dot segment and "%2f" a separator),
// repeated slashes are merged, "." segments removed and ".." segments
// resolved. A ".." above the root and a decoded NUL are refused
// (ErrBadURI). CR and LF survive: "%0d%0a" is a real CR LF in $uri, which
// is what makes $uri dangerous in a response header.
func NormalizeURI(raw string, mergeSlashes bool) (string, error) {
	if raw == "" || raw[0] != '/' {
		return "", ErrBadURI
	}
	// Decode first, then normalise the decoded path: nginx's state
	// machine feeds each decoded byte back into the state it was in
	// (sw_quoted_second: "state = quoted_state; goto again"), so the
	// result is the same as normalising the decoded string, except that
	// a decoded '%' is not decoded again.
	dec := make([]byte, 0, len(raw))
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if c == '%' && i+2 < len(raw) && isHex(raw[i+1]) && isHex(raw[i+2]) {
			c = unhex(raw[i+1])<<4 | unhex(raw[i+2])
			i += 2
			if c == 0 {
				return "", ErrBadURI
			}
		}
		dec = append(dec, c)
	}
	var segs []string
	trailing := false
	parts := strings.Split(string(dec[1:]), "/")
	for i, p := range parts {
		last := i == len(parts)-1
		switch p {
		case "":
			if !mergeSlashes && !last {
				segs = append(segs, "")
			}
			trailing = last
			continue
		case ".":
			trailing = true
			continue
		case "..":
			if len(segs) == 0 {
				return "", ErrBadURI
			}
			segs = segs[:len(segs)-1]
			trailing = true
			continue
		}
		trailing = false
		segs = append(segs, p)
	}
	out := "/" + strings.Join(segs, "/")
	if trailing && len(segs) > 0 {
		out += "/"
	}
	return out, nil
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}
