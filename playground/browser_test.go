package playground

import (
	"context"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// chromium finds a Chromium to drive; CI installs Debian's (package
// chromium), where its absence is a failure rather than a skip.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("no Chromium on PATH (.ci/run installs Debian's chromium)")
	}
	t.Skip("no Chromium on PATH (apt-get install chromium)")
	return ""
}

// The playground as a visitor uses it, in a real browser: build the site,
// serve it, paste the seed configuration, pick lua-nginx-module 0.10.0
// (the version of the original bug), check with confirmation on, and see
// NGX2001 reported at line 13 and confirmed by the emulator running in
// the tab, with the line marked in the source view and the trace shown.
func TestPlaygroundInChromium(t *testing.T) {
	exe := chromium(t)
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	dir := t.TempDir()
	if err := Build(ctx, dir); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(Handler(dir))
	defer srv.Close()

	// The flags this machine's closed network needs (no background
	// connections, no QUIC), a fresh profile, and no sandbox (CI runs as
	// root).
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe), chromedp.NoSandbox, chromedp.DisableGPU, chromedp.WindowSize(1400, 900),
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()))
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	defer cancelAlloc()
	bctx, cancelBrowser := chromedp.NewContext(actx)
	defer cancelBrowser()

	seed, err := os.ReadFile("../examples/seed/nginx.conf")
	if err != nil {
		t.Fatal(err)
	}
	const ngx2001 = chromedp.CSS(`#findings li.finding[data-rule="NGX2001"]`)
	err = chromedp.Do(bctx,
		chromedp.Navigate(srv.URL+"/"),
		chromedp.WaitVisible(chromedp.CSS(`body[data-ready="true"]`)),
		chromedp.SetValue(chromedp.CSS(`#files textarea`), string(seed)),
		chromedp.SetValue(chromedp.CSS(`#lnm`), "0.10.0"),
		chromedp.Click(chromedp.CSS(`#run`)),
		chromedp.WaitVisible(ngx2001),
	)
	if err != nil {
		t.Fatal(err)
	}
	options := run(t, bctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll("#lnm option")).map(o => o.value)`))
	text := run(t, bctx, chromedp.Text(ngx2001))
	line := run(t, bctx, chromedp.AttributeValue(ngx2001, "data-line")).Value
	status := run(t, bctx, chromedp.AttributeValue(ngx2001, "data-status")).Value
	trace := run(t, bctx, chromedp.TextContent(chromedp.CSS(`#findings li.finding[data-rule="NGX2001"] details pre`)))
	if shot := os.Getenv("NGXLINT_PLAYGROUND_SCREENSHOT"); shot != "" {
		// For a person reviewing the page: the whole page after the check.
		if err := os.WriteFile(shot, run(t, bctx, chromedp.FullScreenshot(100)), 0o644); err != nil {
			t.Error(err)
		}
	}
	marked := run(t, bctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll("#code .hl-error")).map(e => e.dataset.line)`))
	if !strings.Contains(strings.Join(options, " "), "0.10.0") {
		t.Errorf("lua-nginx-module choices %v lack 0.10.0", options)
	}
	if line != "13" || status != "confirmed" || !strings.Contains(text, "nginx.conf:13:9") || !strings.Contains(text, "confirmed: ") {
		t.Errorf("NGX2001 at line %q, status %q:\n%s", line, status, text)
	}
	if trace == "" {
		t.Error("no emulator trace under NGX2001")
	}
	if !strings.Contains(" "+strings.Join(marked, " ")+" ", " 13 ") {
		t.Errorf("source view marks lines %v as errors, want 13 among them", marked)
	}
}

func run[T any](t *testing.T, ctx context.Context, a chromedp.Action[T]) T {
	t.Helper()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	return v
}
