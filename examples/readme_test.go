package examples

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// readmeSnippet returns the first Go block after the heading in README.md.
func readmeSnippet(t *testing.T, heading string) string {
	t.Helper()
	readme, err := os.ReadFile(filepath.Join("..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	s := string(readme)
	i := strings.Index(s, "\n"+heading+"\n")
	if i < 0 {
		t.Fatalf("README.md has no heading %q", heading)
	}
	s = s[i:]
	const open, closing = "\n```go\n", "\n```\n"
	i = strings.Index(s, open)
	if i < 0 {
		t.Fatalf("README.md has no Go block after %q", heading)
	}
	s = s[i+len(open):]
	j := strings.Index(s, closing)
	if j < 0 {
		t.Fatalf("README.md's Go block after %q does not end", heading)
	}
	return s[:j+1]
}

// TestReadmeEmbedding compiles and runs the README's embedding snippet,
// exactly as it stands, as a new user would: a module of its own that
// requires cxscore (replaced by this checkout), outside the workspace.
func TestReadmeEmbedding(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a program with the go command")
	}
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command in PATH")
	}
	src := readmeSnippet(t, "## Embedding")
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	goMod := "module readme\n\ngo 1.26\n\nrequire github.com/cxscore/cxscore v0.0.0\n\nreplace github.com/cxscore/cxscore => " + root + "\n"
	sum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{"main.go": []byte(src), "go.mod": []byte(goMod), "go.sum": sum} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(goCmd, "run", ".")
	cmd.Dir = dir
	// -mod=mod lets go add the indirect requirements a tidy go.mod would
	// list; the module cache already holds them.
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("go run of the README's snippet: %v\n%s\n%s", err, stderr.String(), src)
	}
	want := regexp.MustCompile(`^NPS \+100 ± 74 \(score: true\), 1 customer\(s\), \d\d:\d\d:00 to \d\d:\d\d:\d\d\n$`)
	if got := stdout.String(); !want.MatchString(got) {
		t.Errorf("the README's snippet printed %q, want a line matching %s", got, want)
	}
}
