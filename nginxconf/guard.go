package nginxconf

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"
	"unicode/utf8"
)

// This file holds what the loader refuses to read or to echo. The tree
// under check is untrusted (it comes from pull requests) and errors end up
// in public CI logs, so: files outside the checked tree (Options.Roots),
// files named like credentials, and binary files are not read, and an
// error quotes a word of a file only when the word looks like a directive
// name.

// credentialNames are the base names of files that hold secrets by
// convention: dotenv files, git's credential store, netrc, the npm and
// PyPI tokens, Apache password files, SSH private keys, and PEM/PKCS#12
// keys and certificates. nginx would read any of them as configuration
// if an include named it (and quote its first line in the error); we do
// not, whatever the include says, because the first line of such a file
// is the secret. A trailing "*" matches any suffix, a leading "*" any
// prefix.
var credentialNames = []string{
	".env", ".env.*",
	".git-credentials", ".netrc", ".npmrc", ".pypirc", ".htpasswd",
	"id_rsa*", "id_ed25519*", "id_ecdsa*",
	"*.pem", "*.key", "*.p12", "*.pfx",
}

// credentialDirs are directories whose every file is refused: a git
// directory (its config can carry remote URLs with tokens), and the
// per-user credential stores of SSH, the AWS CLI, Docker and kubectl.
var credentialDirs = []string{".git", ".ssh", ".aws", ".docker", ".kube"}

// CredentialLike reports whether the slash-separated path rel names a file
// named like credentials (credentialNames, credentialDirs): what the
// loader never reads, for other readers of the tree (the emulator's
// io.open) to refuse the same files.
func CredentialLike(rel string) bool { return credentialLike(rel) }

// credentialLike reports whether the slash-separated path p names a file
// that looks like a credentials file. Only the components of rel (p
// below the root that contains it, or all of p when there are no roots)
// are looked at for credentialDirs, so that a checkout under ~/.docker is
// still readable.
func credentialLike(rel string) bool {
	comps := strings.Split(strings.Trim(rel, "/"), "/")
	base := comps[len(comps)-1]
	for _, pat := range credentialNames {
		switch {
		case strings.HasSuffix(pat, "*"):
			if strings.HasPrefix(base, strings.TrimSuffix(pat, "*")) {
				return true
			}
		case strings.HasPrefix(pat, "*"):
			if strings.HasSuffix(base, strings.TrimPrefix(pat, "*")) {
				return true
			}
		case base == pat:
			return true
		}
	}
	for _, c := range comps[:len(comps)-1] {
		for _, d := range credentialDirs {
			if c == d {
				return true
			}
		}
	}
	return false
}

// binarySample is how much of a file's start looksBinary inspects beyond
// the NUL search over the whole file.
const binarySample = 8192

// looksBinary reports whether data is clearly not text: it holds a NUL
// byte (as git and grep decide), or more than a quarter of its first
// binarySample bytes are control characters or invalid UTF-8. nginx
// configurations and Lua sources are text; a LuaJIT bytecode file
// (which lua-nginx-module can load) is refused too, since it cannot be
// analysed.
func looksBinary(data []byte) bool {
	if bytes.IndexByte(data, 0) >= 0 {
		return true
	}
	s := data[:min(len(data), binarySample)]
	bad := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c < 0x20 && c != '\t' && c != '\n' && c != '\r' && c != '\f' && c != '\v' || c == 0x7f {
				bad++
			}
			i++
			continue
		}
		r, n := utf8.DecodeRune(s[i:])
		if r == utf8.RuneError && n == 1 && len(s)-i >= utf8.UTFMax {
			bad++ // a rune cut by the sample's end is not counted
		}
		i += n
	}
	return bad*4 > len(s)
}

// maxNameLike and maxNameDigits bound what quoteWord quotes.
const (
	maxNameLike   = 40
	maxNameDigits = 4
)

// nameLike reports whether w looks like an nginx directive name: a
// lowercase letter, then lowercase letters, digits and underscores, at
// most maxNameLike bytes and maxNameDigits digits. Every directive of
// nginx and its common modules fits (the longest,
// "proxy_cache_background_update", has 29 bytes, and names carry at most
// a "2" or a "4"/"6"); access tokens, passwords and keys do not: they
// mix cases, or run long, or hold many digits, or punctuation (the line
// "https://user:ghp_...@github.com" of a git credential store).
func nameLike(w string) bool {
	if w == "" || len(w) > maxNameLike || w[0] < 'a' || w[0] > 'z' {
		return false
	}
	digits := 0
	for i := 0; i < len(w); i++ {
		switch c := w[i]; {
		case c >= 'a' && c <= 'z', c == '_':
		case c >= '0' && c <= '9':
			digits++
		default:
			return false
		}
	}
	return digits <= maxNameDigits
}

// QuoteWord is quoteWord for other packages' messages (the rules quote
// directive names read from files).
func QuoteWord(w string) string { return quoteWord(w) }

// quoteWord is how an error message shows a word read from a file: quoted
// when it looks like a directive name, otherwise only described, so that
// a secret read as a directive (an include of a credentials file named
// innocently) never reaches a CI log.
func quoteWord(w string) string {
	if nameLike(w) {
		return fmt.Sprintf("%q", w)
	}
	return fmt.Sprintf("(a word of %d bytes, not quoted)", len(w))
}

// within reports whether the clean absolute slash path p is root or below
// it.
func within(p, root string) bool {
	return p == root || root == "/" || strings.HasPrefix(p, root+"/")
}

// errLinkLoop is fsRealPath's error for a chain of symbolic links too long
// to be anything but a loop.
var errLinkLoop = errors.New("too many levels of symbolic links")

// maxLinks is how many symbolic links fsRealPath follows in one path, as
// Linux's MAXSYMLINKS (40, include/linux/namei.h).
const maxLinks = 40

// fsRealPath resolves the symbolic links of the absolute slash path abs
// in fsys, whose root stands for "/" (an absolute link target is taken
// from that root). An fsys without fs.ReadLinkFS has no links to resolve.
func fsRealPath(fsys fs.FS, abs string) (string, error) {
	rl, ok := fsys.(fs.ReadLinkFS)
	if !ok {
		return path.Clean(abs), nil
	}
	todo := strings.Split(strings.TrimPrefix(path.Clean(abs), "/"), "/")
	resolved := "" // fs-relative; "" is the root
	links := 0
	for len(todo) > 0 {
		c := todo[0]
		todo = todo[1:]
		switch c {
		case "", ".":
			continue
		case "..":
			if i := strings.LastIndexByte(resolved, '/'); i >= 0 {
				resolved = resolved[:i]
			} else {
				resolved = ""
			}
			continue
		}
		next := join(resolved, c)
		fi, err := rl.Lstat(next)
		if err != nil {
			return "", err
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			resolved = next
			continue
		}
		if links++; links > maxLinks {
			return "", errLinkLoop
		}
		target, err := rl.ReadLink(next)
		if err != nil {
			return "", err
		}
		if strings.HasPrefix(target, "/") {
			resolved = ""
		}
		todo = append(strings.Split(target, "/"), todo...)
	}
	return "/" + resolved, nil
}
