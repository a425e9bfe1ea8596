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
// answer leaves every count and score (engine.DeleteResponse). 200
// {"deleted": true}, or 404 when the engine holds no such response (never
// recorded, deleted already, or aged out).
func (s *Handler) handleDeleteResponse(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	ok, err := s.engine.DeleteResponseAt(s.clock.Now(), id)
	switch {
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
