package pageapi

import (
	"context"
	"encoding/json"
	"fmt"
	"path"
	"slices"
	"strings"
	"testing/fstest"
	"time"

	"github.com/ngxlint/ngxlint"
	"github.com/ngxlint/ngxlint/format"
	"github.com/ngxlint/ngxlint/versions"
)

// request is what the page asks: the files it holds (the main
// configuration and any Lua files or includes, by path), which one is the
// main configuration, the versions and whether to confirm.
type request struct {
	Files    map[string]string `json:"files"`
	Main     string            `json:"main"`
	Versions string            `json:"versions"`
	Confirm  bool              `json:"confirm"`
}

// response is the report plus what the page shows beside the JSON
// contract: each finding's emulator trace (not part of the JSON document)
// and the report as the CLI's text.
type Response struct {
	Report *ngxlint.Report `json:"report,omitempty"`
	Traces []string        `json:"traces,omitempty"`
	Text   string          `json:"text,omitempty"`
	Error  string          `json:"error,omitempty"`
}

// confirmBudget bounds the confirmations of one run in the tab.
const confirmBudget = 20 * time.Second

// maxInput bounds what one run reads (the page's text areas).
const maxInput = 8 << 20

// Run answers one request of the page (JSON in, JSON out); every
// failure is a response with Error, never a panic.
func Run(ctx context.Context, reqJSON []byte) []byte {
	var req request
	resp := Response{}
	if err := json.Unmarshal(reqJSON, &req); err != nil {
		resp.Error = "bad request: " + err.Error()
		return Encode(resp)
	}
	rep, err := check(ctx, req)
	if err != nil {
		resp.Error = err.Error()
		return Encode(resp)
	}
	resp.Report = rep
	for _, d := range rep.Diagnostics {
		resp.Traces = append(resp.Traces, d.Confirmation.Trace)
	}
	f, _ := format.New("text", format.Options{Verbose: true})
	var b strings.Builder
	f.Format(&b, rep)
	resp.Text = b.String()
	return Encode(resp)
}

func check(ctx context.Context, req request) (*ngxlint.Report, error) {
	fsys := fstest.MapFS{}
	total := 0
	for name, body := range req.Files {
		clean := strings.TrimPrefix(path.Clean("/"+name), "/")
		if clean == "" || clean == "." {
			return nil, fmt.Errorf("a file has no name")
		}
		total += len(body)
		if total > maxInput {
			return nil, fmt.Errorf("the files hold more than %d MiB", maxInput>>20)
		}
		fsys[clean] = &fstest.MapFile{Data: []byte(body), Mode: 0o644}
	}
	if req.Main == "" {
		req.Main = "nginx.conf"
	}
	if _, ok := fsys[strings.TrimPrefix(path.Clean("/"+req.Main), "/")]; !ok {
		return nil, fmt.Errorf("no file named %s", req.Main)
	}
	ctx, cancel := context.WithTimeout(ctx, confirmBudget)
	defer cancel()
	return ngxlint.Check(ctx, fsys, []string{req.Main}, ngxlint.Options{Versions: req.Versions, Confirm: req.Confirm})
}

// Encode is v as JSON, or a response with the encoding error.
func Encode(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		b, _ = json.Marshal(Response{Error: err.Error()})
	}
	return b
}

// versionChoices are what the page offers: each OpenResty bundle with the
// nginx and lua-nginx-module it ships, and the lua-nginx-module releases
// those bundles hold (the bundle table in package versions is the one
// place these facts live).
type versionChoices struct {
	OpenResty []bundleChoice `json:"openresty"`
	LNM       []string       `json:"lnm"`
}

type bundleChoice struct {
	Version string `json:"version"`
	Nginx   string `json:"nginx"`
	LNM     string `json:"lnm"`
}

// Choices are the version choices as JSON.
func Choices() []byte {
	var c versionChoices
	for _, b := range versions.Bundles() {
		c.OpenResty = append(c.OpenResty, bundleChoice{Version: b.OpenResty, Nginx: b.Nginx, LNM: b.LNM})
		if !slices.Contains(c.LNM, b.LNM) {
			c.LNM = append(c.LNM, b.LNM)
		}
	}
	slices.SortFunc(c.LNM, func(a, b string) int { return versions.MustParse(a).Compare(versions.MustParse(b)) })
	return Encode(c)
}
