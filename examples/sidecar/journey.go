package main

import (
	"errors"

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

// readJourney reads and checks a -journey file. Its errors say what is
// wrong with the file, for a person to fix: where JSON is broken, which
// field is unknown or of the wrong type, and which stage is at fault (by
// its position from 1, and its name) as httpapi.CheckJourney has it.
func readJourney(path string) ([]httpapi.Stage, error) {
	var j journeyFile
	if err := readJSONFile(path, jsonFile{
		shape:      `{"stages": [...]}`,
		typeHint:   `; a stage is {"name": "...", "touchpoints": ["..."]}`,
		fieldsHint: `; the file has only "stages", and each stage only "name" and "touchpoints"`,
	}, &j); err != nil {
		return nil, err
	}
	if len(j.Stages) == 0 {
		return nil, errors.New(`the file holds no stages; want {"stages": [{"name": "...", "touchpoints": ["..."]}, ...]}`)
	}
	if err := httpapi.CheckJourney(j.Stages); err != nil {
		return nil, err
	}
	return j.Stages, nil
}
