package alert

import "errors"

// Errors returned by the package, wrapped with the offending value; match
// them with errors.Is.
var (
	// ErrRule: a Rule is invalid (New says which field and why).
	ErrRule = errors.New("alert: invalid rule")
	// ErrConfig: a Config or WebhookConfig is invalid.
	ErrConfig = errors.New("alert: invalid config")
	// ErrState: saved alert state (ParseSaved) is damaged or of another
	// version.
	ErrState = errors.New("alert: invalid saved state")
)
