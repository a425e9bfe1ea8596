package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"

	"github.com/cxscore/cxscore/server/httpapi"
)

// journeyFile is the format of -journey's file: the stages in order, each
// a name and its touchpoints.
//
//	{"stages": [{"name": "purchase", "touchpoints": ["checkout", "web"]},
//	            {"name": "post-purchase", "touchpoints": ["delivery", "returns", "support"]}]}
type journeyFile struct {
	Stages []httpapi.Stage `json:"stages"`
}

// maxJourneyBytes bounds a -journey file: 32 stages of long names and
// many touchpoints fit in far less.
const maxJourneyBytes = 1 << 20

// readJourney reads and checks a -journey file. Its errors say what is
// wrong with the file, for a person to fix: where JSON is broken, which
// field is unknown or of the wrong type, and which stage is at fault (by
// its position from 1, and its name) as httpapi.CheckJourney has it.
func readJourney(path string) ([]httpapi.Stage, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxJourneyBytes+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxJourneyBytes {
		return nil, fmt.Errorf("the file is over %d bytes; a journey is a few stages", maxJourneyBytes)
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return nil, errors.New(`the file is empty; want {"stages": [{"name": "...", "touchpoints": ["..."]}, ...]}`)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var j journeyFile
	if err := dec.Decode(&j); err != nil {
		var syntax *json.SyntaxError
		var typ *json.UnmarshalTypeError
		switch {
		case errors.As(err, &syntax):
			return nil, fmt.Errorf("the file is not valid JSON: line %d: %v", lineOf(b, syntax.Offset), err)
		case errors.As(err, &typ) && typ.Field != "":
			return nil, fmt.Errorf("%s is %s, want %s; a stage is {\"name\": \"...\", \"touchpoints\": [\"...\"]}", typ.Field, article(typ.Value), jsonKind(typ.Type))
		case errors.As(err, &typ):
			return nil, fmt.Errorf(`the file holds %s, want an object {"stages": [...]}`, article(typ.Value))
		case errors.Is(err, io.ErrUnexpectedEOF):
			return nil, errors.New("the file ends in the middle of its JSON")
		default: // an unknown field: encoding/json says only its name
			return nil, fmt.Errorf(`%v; the file has only "stages", and each stage only "name" and "touchpoints"`, trimJSON(err))
		}
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("the file holds more after its JSON object, at line %d; want one object", lineOf(b, dec.InputOffset()))
	}
	if len(j.Stages) == 0 {
		return nil, errors.New(`the file holds no stages; want {"stages": [{"name": "...", "touchpoints": ["..."]}, ...]}`)
	}
	if err := httpapi.CheckJourney(j.Stages); err != nil {
		return nil, err
	}
	return j.Stages, nil
}

// lineOf is the line, from 1, of a byte offset in b.
func lineOf(b []byte, offset int64) int {
	return 1 + bytes.Count(b[:min(int(offset), len(b))], []byte("\n"))
}

// article names a JSON value kind as a sentence does: "a string", "an array".
func article(kind string) string {
	switch kind {
	case "array", "object", "":
		return "an " + kind
	}
	return "a " + kind
}

// jsonKind names what a Go type of journeyFile is in JSON.
func jsonKind(t reflect.Type) string {
	switch {
	case t.Kind() == reflect.String:
		return "a string"
	case t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.String:
		return "an array of strings"
	case t.Kind() == reflect.Slice:
		return "an array of stages"
	}
	return "an object"
}

// trimJSON is an encoding/json error's text without its "json: " prefix.
func trimJSON(err error) string {
	s := err.Error()
	if len(s) > 6 && s[:6] == "json: " {
		return s[6:]
	}
	return s
}
