package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/cxscore/cxscore/engine"
	"github.com/cxscore/cxscore/server/httpapi"
)

// writeJourney writes text to a file of a fresh folder and returns its path.
func writeJourney(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "journey.json")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestJourneyFlag: -journey reads the file's stages in order; a file that
// is not a valid journey is a usage error (exit 2) that says what is wrong
// with the file.
func TestJourneyFlag(t *testing.T) {
	path := writeJourney(t, `{"stages": [
		{"name": "purchase", "touchpoints": ["checkout", "web"]},
		{"name": "post-purchase", "touchpoints": ["delivery", "returns", "support"]}
	]}`)
	c, err := parseFlags([]string{"-journey", path}, func(string) string { return "" }, io.Discard)
	want := []httpapi.Stage{
		{Name: "purchase", Touchpoints: []string{"checkout", "web"}},
		{Name: "post-purchase", Touchpoints: []string{"delivery", "returns", "support"}},
	}
	if err != nil || !reflect.DeepEqual(c.journey, want) {
		t.Errorf("got %v, %+v; want %+v", err, c.journey, want)
	}
	if c, err := parseFlags(nil, func(string) string { return "" }, io.Discard); err != nil || c.journey != nil {
		t.Errorf("without -journey: got %v, %+v; want no journey", err, c.journey)
	}

	long := strings.Repeat("x", 129)
	for _, tt := range []struct{ name, text, want string }{
		{"empty", " \n", "the file is empty"},
		{"no stages", `{"stages": []}`, "the file holds no stages"},
		{"null", `null`, "the file holds no stages"},
		{"an array", `[{"name": "a", "touchpoints": ["b"]}]`, `the file holds an array, want an object {"stages": [...]}`},
		{"broken", "{\"stages\": [\n{\"name\": \"a\" \"touchpoints\": [\"b\"]}]}", "the file is not valid JSON: line 2: invalid character"},
		{"cut short", `{"stages": [{"name": "a",`, "the file ends in the middle of its JSON"},
		{"two objects", "{\"stages\": [{\"name\": \"a\", \"touchpoints\": [\"b\"]}]}\n{}", "the file holds more after its JSON object, at line 2"},
		{"unknown field", `{"stages": [{"name": "a", "touchpoint": ["b"]}]}`, `unknown field "touchpoint"; the file has only "stages", and each stage only "name" and "touchpoints"`},
		{"unknown top field", `{"stage": []}`, `unknown field "stage"`},
		{"touchpoints a string", `{"stages": [{"name": "a", "touchpoints": "b"}]}`, "stages.touchpoints is a string, want an array of strings"},
		{"name a number", `{"stages": [{"name": 1, "touchpoints": ["b"]}]}`, "stages.name is a number, want a string"},
		{"no name", `{"stages": [{"name": "a", "touchpoints": ["b"]}, {"touchpoints": ["c"]}]}`, "stage 2 has no name"},
		{"empty name", `{"stages": [{"name": "", "touchpoints": ["b"]}]}`, "stage 1 has no name"},
		{"same name", `{"stages": [{"name": "a", "touchpoints": ["b"]}, {"name": "a", "touchpoints": ["c"]}]}`, `stage 2 is named "a" like stage 1; stage names must differ`},
		{"no touchpoints", `{"stages": [{"name": "a"}]}`, `stage 1 ("a") has no touchpoints; a stage needs at least one`},
		{"empty touchpoints", `{"stages": [{"name": "a", "touchpoints": []}]}`, `stage 1 ("a") has no touchpoints`},
		{"touchpoint twice", `{"stages": [{"name": "a", "touchpoints": ["b", "b"]}]}`, `stage 1 ("a") lists touchpoint "b" twice`},
		{"every touchpoint", `{"stages": [{"name": "a", "touchpoints": ["*"]}]}`, `stage 1 ("a") has touchpoint "*", which stands for every touchpoint`},
		{"long name", `{"stages": [{"name": "` + long + `", "touchpoints": ["b"]}]}`, "stage 1 has a name of 129 bytes, want at most 128"},
		{"long touchpoint", `{"stages": [{"name": "a", "touchpoints": ["` + long + `"]}]}`, `stage 1 ("a") has a touchpoint of 129 bytes, want at most 128`},
		{"too many stages", `{"stages": [` + strings.Repeat(`{"name": "a", "touchpoints": ["b"]},`, 32) + `{"name": "z", "touchpoints": ["b"]}]}`, "33 stages, want at most 32"},
		{"too big", `{"stages": [{"name": "a", "touchpoints": ["b"]}]}` + strings.Repeat(" ", 1<<20), "the file is over 1048576 bytes"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path := writeJourney(t, tt.text)
			var out strings.Builder
			_, err := parseFlags([]string{"-journey", path}, func(string) string { return "" }, &out)
			want := "-journey " + path + ": " + tt.want
			if !errors.Is(err, errUsage) || !strings.Contains(err.Error(), want) {
				t.Errorf("got %v, want a usage error with %q", err, want)
			}
			if !strings.Contains(out.String(), want) {
				t.Errorf("got output %q, want it to say %q", out.String(), want)
			}
		})
	}
	t.Run("missing", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "none.json")
		if _, err := parseFlags([]string{"-journey", path}, func(string) string { return "" }, io.Discard); !errors.Is(err, errUsage) || !strings.Contains(err.Error(), "no such file") {
			t.Errorf("got %v, want a usage error saying there is no such file", err)
		}
	})
}

// TestJourneyDoc: the limits doc.go gives for -journey are the ones
// enforced.
func TestJourneyDoc(t *testing.T) {
	doc, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Join(strings.Fields(strings.ReplaceAll(string(doc), "//", "")), " ")
	for _, want := range []string{
		fmt.Sprintf("name or touchpoint over %d bytes", engine.MaxLabelBytes),
		fmt.Sprintf("more than %d stages", httpapi.MaxJourneyStages),
	} {
		if !strings.Contains(text, want) {
			t.Errorf("doc.go does not say %q", want)
		}
	}
}
