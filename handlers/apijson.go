package handlers

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"

	"github.com/labstack/echo/v4"
)

// MaxAPIBody bounds the body of a JSON API request.
const MaxAPIBody = 64 << 10

// APIError is an error of the JSON API with its status, a machine-readable
// code and a message; the error handler writes it as
// {"error": code, "message": message}.
type APIError struct {
	Status  int
	Code    string
	Message string
}

func (e *APIError) Error() string { return fmt.Sprintf("%d %s: %s", e.Status, e.Code, e.Message) }

// NewAPIError returns an APIError.
func NewAPIError(status int, code, message string) *APIError {
	return &APIError{Status: status, Code: code, Message: message}
}

// DecodeJSON reads a JSON body of at most MaxAPIBody bytes into v, refusing
// other content types, unknown fields of v's structs, and trailing data.
func DecodeJSON(c echo.Context, v any) error {
	req := c.Request()
	if ct := req.Header.Get(echo.HeaderContentType); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && mt != "application/authzen+json") {
			return NewAPIError(http.StatusUnsupportedMediaType, "unsupported_media_type", "Send the body as application/json.")
		}
	}
	data, err := io.ReadAll(io.LimitReader(req.Body, MaxAPIBody+1))
	if err != nil {
		return NewAPIError(http.StatusBadRequest, "invalid_request", "The body could not be read.")
	}
	if len(data) > MaxAPIBody {
		return NewAPIError(http.StatusRequestEntityTooLarge, "request_too_large", fmt.Sprintf("The body is larger than %d KiB.", MaxAPIBody>>10))
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return NewAPIError(http.StatusBadRequest, "invalid_request", "The body is empty; send a JSON object.")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return NewAPIError(http.StatusBadRequest, "invalid_json", "The body is not valid JSON for this endpoint: "+jsonProblem(err))
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return NewAPIError(http.StatusBadRequest, "invalid_json", "The body holds data after the JSON object.")
	}
	return nil
}

func jsonProblem(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("syntax error at byte %d", se.Offset)
	case errors.As(err, &te):
		return fmt.Sprintf("field %q should be %s", te.Field, te.Type)
	}
	return err.Error()
}
