package rules

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// corpusRoot is the shared corpus, beside the repository.
const corpusRoot = "../../shared/corpus"

// corpusEntry is one file of ../shared/corpus/MANIFEST.jsonl.
type corpusEntry struct {
	Path    string `json:"path"`
	Role    string `json:"role"`
	Verdict string `json:"nginx_t"`         // Debian's nginx -t: "ok", "error: ..."
	Context string `json:"nginx_t_context"` // "included" for a file nginx -t saw through an include
}

// corpusManifest reads the corpus manifest; the test skips when the corpus
// is absent.
func corpusManifest(t *testing.T) []corpusEntry {
	t.Helper()
	f, err := os.Open(filepath.Join(corpusRoot, "MANIFEST.jsonl"))
	if err != nil {
		t.Skip("corpus not available: ", err)
	}
	defer f.Close()
	var out []corpusEntry
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var e corpusEntry
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatal(err)
		}
		out = append(out, e)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
