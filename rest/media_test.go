package rest

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestWritesRequireJSON: a write whose body is not declared JSON is
// refused with Jersey's 415 before the herder sees it, as Kafka's
// @Consumes(application/json) resources do; this is what keeps a web page
// from creating connectors through a cross-site "simple" request.
func TestWritesRequireJSON(t *testing.T) {
	const create = `{"name":"new","config":{"connector.class":"FileStreamSink","topics":"t"}}`
	const refused = `{"error_code":415,"message":"HTTP 415 Unsupported Media Type"}`
	tests := []struct {
		name         string
		method, path string
		contentType  []string // nil: no header
		body         string
		status       int
	}{
		{"text/plain create", "POST", "/connectors", []string{"text/plain"}, create, 415},
		{"text/plain with charset", "POST", "/connectors", []string{"text/plain;charset=UTF-8"}, create, 415},
		{"form create", "POST", "/connectors", []string{"application/x-www-form-urlencoded"}, create, 415},
		{"multipart create", "POST", "/connectors", []string{"multipart/form-data; boundary=x"}, "--x\r\n\r\n" + create + "\r\n--x--\r\n", 415},
		{"no content type with a body", "POST", "/connectors", nil, create, 415},
		{"a +json type is not application/json to Jersey", "POST", "/connectors", []string{"application/vnd.kafka+json"}, create, 415},
		{"unparseable content type", "POST", "/connectors", []string{"application/json;;="}, create, 415},
		{"two content types", "POST", "/connectors", []string{"application/json", "text/plain"}, create, 415},
		{"body-less pause with text/plain", "PUT", "/connectors/src/pause", []string{"text/plain"}, "", 415},
		{"delete with a form type", "DELETE", "/connectors/src", []string{"application/x-www-form-urlencoded"}, "", 415},
		{"restart with text/plain", "POST", "/connectors/src/restart", []string{"text/plain"}, "", 415},
		{"config put with text/plain", "PUT", "/connectors/src/config", []string{"text/plain"}, `{"connector.class":"FileStreamSource"}`, 415},
		{"validate with text/plain", "PUT", "/connector-plugins/FileStreamSource/config/validate", []string{"text/plain"}, `{}`, 415},
		{"logger with text/plain", "PUT", "/admin/loggers/sluice", []string{"text/plain"}, `{"level":"DEBUG"}`, 415},

		{"json create", "POST", "/connectors", []string{"application/json"}, create, 201},
		{"json with parameters, any case", "POST", "/connectors", []string{"Application/JSON; charset=utf-8"}, create, 201},
		{"body-less pause without a content type", "PUT", "/connectors/src/pause", nil, "", 202},
		{"body-less restart without a content type", "POST", "/connectors/src/restart", nil, "", 204},
		{"reads are not checked", "GET", "/connectors/src", []string{"text/plain"}, "", 200},
		{"unknown path is still 404", "POST", "/nope", []string{"text/plain"}, create, 404},
		{"wrong method is still 405", "PATCH", "/connectors", []string{"text/plain"}, create, 405},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newMemHerder()
			s := newTestServer(h, Options{})
			req := httptest.NewRequest(tt.method, tt.path, strings.NewReader(tt.body))
			for _, ct := range tt.contentType {
				req.Header.Add("Content-Type", ct)
			}
			rec := httptest.NewRecorder()
			s.Handler().ServeHTTP(rec, req)
			require.Equal(t, tt.status, rec.Code, rec.Body.String())
			if tt.status == http.StatusUnsupportedMediaType {
				assert.JSONEq(t, refused, rec.Body.String())
				assert.Equal(t, "application/json", rec.Header().Get("Content-Type"))
			}
			h.mu.Lock()
			_, created := h.connectors["new"]
			h.mu.Unlock()
			assert.Equal(t, tt.status == http.StatusCreated, created, "created only by an accepted create")
		})
	}
}
