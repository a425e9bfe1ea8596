package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
)

// jsonFile describes a flag's JSON file (-journey, -alerts) for
// readJSONFile's messages, which are for a person to fix the file by.
type jsonFile struct {
	shape      string // the file's form, e.g. {"stages": [...]}
	typeHint   string // said after a field of the wrong type, e.g. what a stage is
	fieldsHint string // said after an unknown field: the fields there are
}

// maxJSONFileBytes bounds a flag's JSON file: what they hold fits in far
// less.
const maxJSONFileBytes = 1 << 20

// readJSONFile decodes the one JSON object of the file at path into v,
// refusing unknown fields, a file over maxJSONFileBytes and anything after
// the object. Its errors say where the JSON is broken (by line), which
// field is unknown or of the wrong type, and what was wanted.
func readJSONFile(path string, f jsonFile, v any) error {
	file, err := os.Open(path)
	if err != nil {
		return err
	}
	defer file.Close()
	b, err := io.ReadAll(io.LimitReader(file, maxJSONFileBytes+1))
	if err != nil {
		return err
	}
	if len(b) > maxJSONFileBytes {
		return fmt.Errorf("the file is over %d bytes", maxJSONFileBytes)
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return fmt.Errorf("the file is empty; want %s", f.shape)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var syntax *json.SyntaxError
		var typ *json.UnmarshalTypeError
		switch {
		case errors.As(err, &syntax):
			return fmt.Errorf("the file is not valid JSON: line %d: %v", lineOf(b, syntax.Offset), err)
		case errors.As(err, &typ) && typ.Field != "":
			return fmt.Errorf("%s is %s, want %s%s", typ.Field, article(typ.Value), jsonKind(typ.Type), f.typeHint)
		case errors.As(err, &typ):
			return fmt.Errorf("the file holds %s, want an object %s", article(typ.Value), f.shape)
		case errors.Is(err, io.ErrUnexpectedEOF):
			return errors.New("the file ends in the middle of its JSON")
		default: // an unknown field: encoding/json says only its name
			return fmt.Errorf("%v%s", trimJSON(err), f.fieldsHint)
		}
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return fmt.Errorf("the file holds more after its JSON object, at line %d; want one object", lineOf(b, dec.InputOffset()))
	}
	return nil
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

// jsonKind names what a field of Go type t is in JSON.
func jsonKind(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice:
		if t.Elem().Kind() == reflect.String {
			return "an array of strings"
		}
		return "an array"
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
