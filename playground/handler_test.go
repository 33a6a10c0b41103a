package playground

import (
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
)

// The module is served as application/wasm (instantiateStreaming refuses
// anything else) and every answer carries the page's CSP.
func TestHandlerHeaders(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "ngxlint.wasm"), []byte("\x00asm"), 0o644); err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	Handler(dir).ServeHTTP(rec, httptest.NewRequest("GET", "/ngxlint.wasm", nil))
	if ct := rec.Header().Get("Content-Type"); ct != "application/wasm" {
		t.Errorf("Content-Type %q", ct)
	}
	if csp := rec.Header().Get("Content-Security-Policy"); csp == "" {
		t.Error("no Content-Security-Policy")
	}
}
