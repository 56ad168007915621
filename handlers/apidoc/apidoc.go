// Package apidoc holds the OpenAPI document of the JSON API.
package apidoc

import _ "embed"

// OpenAPI is the OpenAPI 3.1 document served at /api/v1/openapi.json.
//
//go:embed openapi.json
var OpenAPI []byte
