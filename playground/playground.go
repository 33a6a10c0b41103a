package playground

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
)

//go:embed static
var static embed.FS

// modulePath is this module's path: the WebAssembly module is built from
// its source.
const modulePath = "github.com/ngxlint/ngxlint"

// wasmPackage is the package built for the browser.
const wasmPackage = modulePath + "/playground/wasm"

// exampleFile is the bundled example the page loads, in the module's
// source (the same seed the README's first command checks).
const exampleFile = "examples/seed/nginx.conf"

// Build writes the playground into dir: the page, Go's wasm_exec.js (from
// the Go installation that builds the module, so the two always match),
// ngxlint.wasm and the example. It needs the go command and this module's
// source: a checkout (the working directory is inside it) or the module
// cache entry of the installed version.
func Build(ctx context.Context, dir string) error {
	src, err := sourceDir(ctx)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	err = fs.WalkDir(static, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := static.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dir, strings.TrimPrefix(p, "static/")), data, 0o644)
	})
	if err != nil {
		return err
	}
	goroot, err := goEnv(ctx, src, "GOROOT")
	if err != nil {
		return err
	}
	if err := copyFirst(filepath.Join(dir, "wasm_exec.js"),
		filepath.Join(goroot, "lib", "wasm", "wasm_exec.js"), // Go >= 1.24
		filepath.Join(goroot, "misc", "wasm", "wasm_exec.js")); err != nil {
		return fmt.Errorf("wasm_exec.js of the Go installation: %w", err)
	}
	if err := copyFirst(filepath.Join(dir, "example.conf"), filepath.Join(src, filepath.FromSlash(exampleFile))); err != nil {
		return err
	}
	out, err := filepath.Abs(filepath.Join(dir, "ngxlint.wasm"))
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", out, wasmPackage)
	cmd.Dir = src
	cmd.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm", "CGO_ENABLED=0")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("building %s for js/wasm: %v\n%s", wasmPackage, err, stderr.String())
	}
	return nil
}

// Handler serves a directory Build wrote, with the WebAssembly MIME type
// that WebAssembly.instantiateStreaming insists on.
func Handler(dir string) http.Handler {
	// Some systems' MIME tables lack .wasm; the browser refuses the
	// module without it.
	_ = mime.AddExtensionType(".wasm", "application/wasm")
	files := http.FileServer(http.Dir(dir))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The page needs nothing from elsewhere: say so to the browser.
		w.Header().Set("Content-Security-Policy", "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		files.ServeHTTP(w, r)
	})
}

// sourceDir finds this module's source: the checkout around the working
// directory, or the module cache entry of the version this binary was
// built from.
func sourceDir(ctx context.Context) (string, error) {
	cmd := exec.CommandContext(ctx, "go", "list", "-m", "-f", "{{.Path}} {{.Dir}}")
	if out, err := cmd.Output(); err == nil {
		path, dir, ok := strings.Cut(strings.TrimSpace(string(out)), " ")
		if ok && path == modulePath && dir != "" {
			return dir, nil
		}
	} else if errors.Is(err, exec.ErrNotFound) {
		return "", errors.New("the playground is built with the go command, which is not on PATH")
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Path == modulePath && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		cache, err := goEnv(ctx, "", "GOMODCACHE")
		if err == nil {
			dir := filepath.Join(cache, modulePath+"@"+bi.Main.Version)
			if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
				return dir, nil
			}
		}
	}
	return "", fmt.Errorf("the playground is built from ngxlint's source: run it inside a checkout (go run ./cmd/ngxlint playground), or install ngxlint with go install %s/cmd/ngxlint@VERSION", modulePath)
}

func goEnv(ctx context.Context, dir, key string) (string, error) {
	cmd := exec.CommandContext(ctx, "go", "env", key)
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("go env %s: %w", key, err)
	}
	return strings.TrimSpace(string(out)), nil
}

// copyFirst copies the first of srcs that exists to dst.
func copyFirst(dst string, srcs ...string) error {
	var firstErr error
	for _, s := range srcs {
		data, err := os.ReadFile(s)
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		return os.WriteFile(dst, data, 0o644)
	}
	return firstErr
}
