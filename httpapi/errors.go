package httpapi

import (
	"encoding/json"
	"net/http"

	"github.com/shepherd-go/shepherd/netlayer/wire"
)

// statusOf is the HTTP status of a protocol error kind (docs/http.md).
// A capability that no longer holds (revoked, expired) is an invalid
// token, 401, as RFC 6750 says; one that does not allow the request is
// 403.
func statusOf(k wire.ErrorKind) int {
	switch k {
	case wire.BadRequest:
		return http.StatusBadRequest
	case wire.ServiceNotFound, wire.ActionNotFound:
		return http.StatusNotFound
	case wire.PermissionDenied:
		return http.StatusForbidden
	case wire.CapabilityRevoked, wire.CapabilityExpired:
		return http.StatusUnauthorized
	case wire.DependencyFailed, wire.StartFailed, wire.InvalidConfig:
		return http.StatusConflict
	case wire.Unreachable, wire.Timeout:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// errorBody is every error's body: the protocol's error, kind included.
type errorBody struct {
	Error *wire.Error `json:"error"`
}

func writeError(w http.ResponseWriter, status int, e *wire.Error) {
	if status == http.StatusUnauthorized && w.Header().Get("WWW-Authenticate") == "" {
		w.Header().Set("WWW-Authenticate", `Bearer realm="shepherd", error="invalid_token"`)
	}
	writeJSON(w, status, errorBody{Error: e})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":{"kind":"bad-request","message":"unencodable answer"}}`)
	}
	writeRaw(w, status, b)
}

func writeRaw(w http.ResponseWriter, status int, b []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	w.Write(b)
	w.Write([]byte("\n"))
}

func jsonLine(v any) ([]byte, error) { return json.Marshal(v) }
