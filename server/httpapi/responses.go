package httpapi

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/cxscore/cxscore/engine"
)

// ResponseDeleted is the answer to DELETE /v1/responses/{id} that retracted
// a response.
type ResponseDeleted struct {
	Deleted bool `json:"deleted"`
}

// handleDeleteResponse serves DELETE /v1/responses/{id}: the response's
// answer leaves every count and score (engine.DeleteResponse, or the
// Deleter's). 200 {"deleted": true}, or 404 when the engine holds no such
// response (never recorded, deleted already, or aged out).
func (s *Handler) handleDeleteResponse(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	var ok bool
	var err error
	if s.deleter != nil {
		ok, err = s.deleter.DeleteResponse(r.Context(), id)
		s.setApplied(w) // after the Deleter returned: it covers the deletion
	} else {
		ok, err = s.engine.DeleteResponseAt(s.clock.Now(), id)
	}
	switch {
	case err != nil && !s.deleteRefused(err):
		s.log.Warn("response deletion of unknown outcome", "id", id, "err", err)
		writeError(w, http.StatusServiceUnavailable, fmt.Sprintf("the deletion of response %q may or may not be applied: %v; retrying it is safe", id, err))
		return
	case errors.Is(err, engine.ErrClosed):
		writeError(w, http.StatusServiceUnavailable, "shutting down; nothing was deleted")
		return
	case err != nil:
		writeError(w, http.StatusBadRequest, err.Error()+"; nothing was deleted")
		return
	case !ok:
		writeError(w, http.StatusNotFound, fmt.Sprintf("no response %q is held (never recorded, deleted already, or older than the longest retention); nothing was deleted", id))
		return
	}
	s.respDeletes.Add(1)
	s.log.Info("response deleted", "id", id)
	writeJSON(w, http.StatusOK, ResponseDeleted{Deleted: true})
}

// deleteRefused reports whether err, from a deletion, says that nothing was
// deleted. The engine's errors always do; a Deleter's only for invalid
// input (see Deleter).
func (s *Handler) deleteRefused(err error) bool {
	return s.deleter == nil || errors.Is(err, engine.ErrInvalidResponseID) ||
		errors.Is(err, engine.ErrInvalidSegment) || errors.Is(err, engine.ErrInvalidTouchpoint)
}
