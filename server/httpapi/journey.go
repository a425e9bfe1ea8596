package httpapi

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/cxscore/cxscore/engine"
)

// Stage is one stage of a customer journey, such as "purchase" or
// "post-purchase": a name and the touchpoints it rolls up. A stage's
// scores pool the answers of its touchpoints and union their unique
// customers, as GET /v1/compare does for a set of touchpoints. Stages may
// share a touchpoint (support can serve several). Options.Journey lists
// them in the journey's order; CheckJourney says what a valid one is.
type Stage struct {
	Name        string   `json:"name"`
	Touchpoints []string `json:"touchpoints"`
}

// MaxJourneyStages is the most stages Options.Journey may hold: GET
// /v1/journey compares every stage, two selections over the keys each.
const MaxJourneyStages = 32

// CheckJourney returns nil if stages is a valid journey, else an error
// naming the first stage at fault by its position from 1 and, when it has
// one, its name. In a valid journey every stage has a name and at least
// one touchpoint; names differ from each other; a stage lists a touchpoint
// once; names and touchpoints are UTF-8 of at most engine.MaxLabelBytes
// bytes, and touchpoints are not "*"; and there are at most
// MaxJourneyStages stages. No stages at all is valid: no journey.
func CheckJourney(stages []Stage) error {
	if len(stages) > MaxJourneyStages {
		return fmt.Errorf("%d stages, want at most %d", len(stages), MaxJourneyStages)
	}
	seen := make(map[string]int, len(stages)) // name → position
	for i, st := range stages {
		n := i + 1
		switch {
		case strings.TrimSpace(st.Name) == "":
			return fmt.Errorf("stage %d has no name", n)
		case len(st.Name) > engine.MaxLabelBytes:
			return fmt.Errorf("stage %d has a name of %d bytes, want at most %d", n, len(st.Name), engine.MaxLabelBytes)
		case !utf8.ValidString(st.Name):
			return fmt.Errorf("stage %d has a name that is not valid UTF-8", n)
		}
		if first, ok := seen[st.Name]; ok {
			return fmt.Errorf("stage %d is named %q like stage %d; stage names must differ", n, st.Name, first)
		}
		seen[st.Name] = n
		if len(st.Touchpoints) == 0 {
			return fmt.Errorf("stage %d (%q) has no touchpoints; a stage needs at least one", n, st.Name)
		}
		for j, tp := range st.Touchpoints {
			switch {
			case tp == "":
				return fmt.Errorf("stage %d (%q) has an empty touchpoint", n, st.Name)
			case tp == engine.All:
				return fmt.Errorf("stage %d (%q) has touchpoint \"*\", which stands for every touchpoint; list them instead", n, st.Name)
			case len(tp) > engine.MaxLabelBytes:
				return fmt.Errorf("stage %d (%q) has a touchpoint of %d bytes, want at most %d", n, st.Name, len(tp), engine.MaxLabelBytes)
			case !utf8.ValidString(tp):
				return fmt.Errorf("stage %d (%q) has a touchpoint that is not valid UTF-8", n, st.Name)
			case slices.Contains(st.Touchpoints[:j], tp):
				return fmt.Errorf("stage %d (%q) lists touchpoint %q twice", n, st.Name, tp)
			}
		}
	}
	return nil
}

// Journey is the answer to GET /v1/journey: every stage of
// Options.Journey, in order, compared with its baseline over the same
// window, all at the same instant. Without a journey, Stages is empty.
type Journey struct {
	Window string         `json:"window"`
	Stages []JourneyStage `json:"stages"`
}

// JourneyStage is one stage of a Journey: its name and touchpoints, and
// the answer GET /v1/compare gives for those touchpoints.
type JourneyStage struct {
	Name        string   `json:"name"`
	Touchpoints []string `json:"touchpoints"`
	Compare     Compare  `json:"compare"`
}

// handleJourney serves GET /v1/journey?segment=S&window=W&against=B,
// segment repeatable: per stage, the /v1/compare answer for
// segment=S&touchpoint=<each of the stage's>&window=W&against=B.
func (s *Handler) handleJourney(w http.ResponseWriter, r *http.Request) {
	sel, p, err := comparisonRequest(r, "segment")
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	now := s.clock.Now() // one instant for every stage, so that they add up to one picture
	out := Journey{Window: p.winText, Stages: make([]JourneyStage, len(s.journey))}
	var c engine.Comparison
	for i, st := range s.journey {
		sel.Touchpoints = st.Touchpoints
		cmp, err := s.compare(now, sel, p, &c)
		if err != nil {
			queryError(w, err)
			return
		}
		out.Stages[i] = JourneyStage{Name: st.Name, Touchpoints: st.Touchpoints, Compare: cmp}
	}
	writeJSON(w, http.StatusOK, out)
}
