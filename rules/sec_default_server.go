package rules

import (
	"fmt"
	"strings"

	"github.com/ngxlint/ngxlint/analyzer"
	"github.com/ngxlint/ngxlint/nginxconf"
)

// DefaultServerMissing flags a listen socket shared by several servers none
// of which is marked default_server.
var DefaultServerMissing = &analyzer.Rule{
	ID:       "SEC1013",
	Slug:     "default-server-missing",
	Severity: analyzer.Info,
	Doc: analyzer.Doc{
		Title: "several servers share a listen socket and none is default_server",
		Text: `A request whose Host matches no server_name goes to the socket's default server: the one marked
default_server, or else the first server nginx read for that address and port. Without the flag, that is
whichever file an include glob sorts first, so adding a site can change who answers unknown hosts (and which
certificate a client without SNI sees), and an internal vhost may end up serving every scanner.

Reported at info on the first server's listen when two or more http servers listen on the same address and
port (80 and *:80 and 0.0.0.0:80 are one socket; [::]:80 is another; quic and TCP are separate) and none has
default_server or default there. A server without listen counts as *:80, as for nginx run as root.`,
		Bad: `http {
    server {
        listen 80;
        server_name a.example;
    }
    server {
        listen 80;
        server_name b.example;
    }
}
`,
		Good: `http {
    server {
        listen 80 default_server;
        server_name _;
        return 444;
    }
    server {
        listen 80;
        server_name a.example;
    }
    server {
        listen 80;
        server_name b.example;
    }
}
`,
		Since:        "0.3.0",
		References:   []string{"https://nginx.org/en/docs/http/request_processing.html", "https://nginx.org/en/docs/http/ngx_http_core_module.html#listen", "Gixy-Next default_server_flag"},
		Confirmation: "not confirmable: which server should answer unknown hosts is the author's intent. What nginx does instead, the first server read on the socket answers them (the socket's default), is what the emulator's server selection (emulator.SelectServer) follows.",
	},
	Run: func(pass *analyzer.Pass) error {
		if pass.Model == nil || pass.Model.HTTP == nil {
			return nil
		}
		type socket struct {
			listens []*nginxconf.Directive
			def     bool
		}
		sockets := map[string]*socket{}
		var order []string
		for _, s := range pass.Model.HTTP.Servers {
			listens := s.Listen
			seen := map[string]bool{}
			add := func(key string, l *nginxconf.Directive, def bool) {
				so := sockets[key]
				if so == nil {
					so = &socket{}
					sockets[key] = so
					order = append(order, key)
				}
				so.def = so.def || def
				if !seen[key] {
					seen[key] = true
					so.listens = append(so.listens, l)
				}
			}
			if len(listens) == 0 {
				add("*:80", s.Directive, false)
				continue
			}
			for _, l := range listens {
				key, ok := listenKey(l)
				if !ok {
					continue
				}
				def := false
				for _, a := range l.Args[1:] {
					def = def || a.Value == "default_server" || a.Value == "default"
				}
				add(key, l, def)
			}
		}
		for _, key := range order {
			so := sockets[key]
			if so.def || len(so.listens) < 2 {
				continue
			}
			first := so.listens[0]
			d := &analyzer.Diagnostic{Pos: first.Pos, End: first.End,
				Message: fmt.Sprintf("%d servers listen on %s and none is default_server; unknown hosts go to whichever is read first", len(so.listens), key),
				Details: "Mark the server meant to answer unknown Host headers with \"listen ... default_server\" (often one that returns 444)."}
			for i, l := range so.listens[1:] {
				if i == 10 {
					break
				}
				d.Related = append(d.Related, analyzer.Related{Pos: l.Pos, End: l.End, Message: "also listens on " + key})
			}
			pass.Report(d)
		}
		return nil
	},
}

// listenKey normalises a listen directive's socket as nginx compares them
// (ngx_http_add_listen: address and port; quic sockets are UDP).
func listenKey(l *nginxconf.Directive) (string, bool) {
	if len(l.Args) == 0 {
		return "", false
	}
	addr := strings.ToLower(l.Args[0].Value)
	if strings.HasPrefix(addr, "unix:") || strings.Contains(addr, "$") {
		return "", false
	}
	host, port := "", ""
	switch {
	case strings.HasPrefix(addr, "["):
		end := strings.Index(addr, "]")
		if end < 0 {
			return "", false
		}
		host, port = addr[:end+1], strings.TrimPrefix(addr[end+1:], ":")
		if host == "[::0]" {
			host = "[::]"
		}
	case strings.Trim(addr, "0123456789") == "":
		host, port = "*", addr
	default:
		h, p, ok := strings.Cut(addr, ":")
		host, port = h, p
		if !ok {
			port = ""
		}
	}
	if host == "0.0.0.0" || host == "" {
		host = "*"
	}
	if port == "" {
		port = "80"
	}
	key := host + ":" + port
	for _, a := range l.Args[1:] {
		if a.Value == "quic" {
			key += " (quic)"
		}
	}
	return key, true
}
