package nginxconf

import (
	"bytes"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestSplitDumpRealNginx splits the dump of the nginx installed here and
// checks that every file comes back byte for byte as nginx read it.
func TestSplitDumpRealNginx(t *testing.T) {
	bin := "/usr/sbin/nginx"
	if _, err := os.Stat(bin); err != nil {
		t.Skip("no nginx at /usr/sbin/nginx")
	}
	out, err := exec.Command(bin, "-T").CombinedOutput()
	if err != nil {
		t.Skipf("nginx -T: %v\n%s", err, out)
	}
	d, err := SplitDump(out)
	if err != nil {
		t.Fatal(err)
	}
	if !IsDump(out) {
		t.Error("IsDump is false on nginx -T output")
	}
	if len(d.Files) < 2 {
		t.Fatalf("only %d files in the dump", len(d.Files))
	}
	for _, f := range d.Files {
		want, err := os.ReadFile(f.Path)
		if err != nil {
			t.Logf("%s: %v (cannot compare)", f.Path, err)
			continue
		}
		if !bytes.Equal(f.Data, want) {
			t.Errorf("%s: split gives %d bytes, the file has %d", f.Path, len(f.Data), len(want))
		}
	}
	cfg, err := LoadDump(out, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range cfg.Errors {
		t.Errorf("load: %v", e)
	}
	if got := len(cfg.AllFiles()); got < len(d.Files) {
		t.Errorf("the load reached %d files of the dump's %d: includes not followed", got, len(d.Files))
	}
}

func TestSplitDump(t *testing.T) {
	dump := "nginx: the configuration file /etc/nginx/nginx.conf syntax is ok\n" +
		"nginx: configuration file /etc/nginx/nginx.conf test is successful\n" +
		"# configuration file /etc/nginx/nginx.conf:\n" +
		"events {}\nhttp { include conf.d/*.conf; }\n\n" +
		"# configuration file /etc/nginx/conf.d/a.conf:\n" +
		"server { listen 80; }" + "\n" + // a file without a final newline
		"# configuration file /etc/nginx/conf.d/b.conf:\r\n" +
		"server { listen 81; }\n\n" +
		"# configuration file /etc/nginx/conf.d/a.conf:\n" +
		"server { listen 82; }\n\n"
	d, err := SplitDump([]byte(dump))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range d.Files {
		got = append(got, f.Path+"="+string(f.Data))
	}
	want := []string{
		"/etc/nginx/nginx.conf=events {}\nhttp { include conf.d/*.conf; }\n",
		"/etc/nginx/conf.d/a.conf=server { listen 80; }",
		"/etc/nginx/conf.d/b.conf=server { listen 81; }\n",
	}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("got\n%q\nwant\n%q", got, want)
	}
	if len(d.Notes) != 1 || !strings.Contains(d.Notes[0], "printed twice") {
		t.Errorf("notes %q, want one about the duplicate", d.Notes)
	}
	cfg, err := LoadDump([]byte(dump), Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range cfg.Errors {
		t.Errorf("load: %v", e)
	}
	listens := 0
	cfg.Walk(func(d *Directive, _ []*Directive) bool {
		if d.Name == "listen" {
			listens++
		}
		return true
	})
	if listens != 2 {
		t.Errorf("%d listen directives reached through the relative include glob, want 2", listens)
	}
}

func TestSplitDumpTrailingStatus(t *testing.T) {
	dump := "# configuration file /etc/nginx/nginx.conf:\nevents {}\n\n" +
		"nginx: configuration file /etc/nginx/nginx.conf test is successful\n"
	d, err := SplitDump([]byte(dump))
	if err != nil {
		t.Fatal(err)
	}
	if got := string(d.Files[0].Data); got != "events {}\n" {
		t.Errorf("main file %q, want the status line dropped", got)
	}
}

func TestSplitDumpRejects(t *testing.T) {
	for _, in := range []string{"", "events {}\n", "# configuration file :\n", "# configuration file /x\n"} {
		if IsDump([]byte(in)) {
			t.Errorf("IsDump(%q) = true", in)
		}
		if _, err := SplitDump([]byte(in)); err == nil {
			t.Errorf("SplitDump(%q) accepted", in)
		}
	}
}

// FuzzSplitDump: never panics, and a dump written back the way nginx
// writes it splits into the same files.
func FuzzSplitDump(f *testing.F) {
	f.Add([]byte("# configuration file /etc/nginx/nginx.conf:\nevents {}\n\n"))
	f.Add([]byte("nginx: x syntax is ok\n# configuration file a:\n\n# configuration file b:\nx\n"))
	f.Add([]byte("# configuration file /a:\r\n# configuration file /a:\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := SplitDump(data)
		if err != nil {
			return
		}
		_ = d.FS()
		var b bytes.Buffer
		for _, fl := range d.Files {
			b.WriteString(dumpMarker + fl.Path + ":\n")
			b.Write(fl.Data)
			b.WriteString("\n")
		}
		again, err := SplitDump(b.Bytes())
		if err != nil {
			t.Fatalf("rewritten dump does not split: %v", err)
		}
		if len(again.Files) != len(d.Files) {
			// A file whose text holds a marker line splits further:
			// nginx's format cannot tell them apart.
			return
		}
		for i := range d.Files {
			if again.Files[i].Path != d.Files[i].Path || !bytes.Equal(again.Files[i].Data, d.Files[i].Data) {
				t.Fatalf("file %d changed on a round trip: %q %q -> %q %q", i, d.Files[i].Path, d.Files[i].Data, again.Files[i].Path, again.Files[i].Data)
			}
		}
	})
}
