package httpsource

// Elasticsearch: the _bulk API and what clients ask before it.
//
// Routes (Go 1.22 patterns; GET also answers HEAD):
//
//	GET /{$}                          the version document (es.version)
//	GET /_cluster/health              green, one node
//	POST|PUT /_bulk, /{index}/_bulk   NDJSON action+source pairs (es_bulk.go)
//	GET /_license, /_xpack, /_nodes   minimal 200s, so Beats and Logstash start
//	GET  /_index_template/{name} …    404: nothing is stored
//	PUT  /_index_template/{name} …    200 {"acknowledged":true}, body discarded
//	                                  (POST too for /_ilm/policy and /_ingest/pipeline)
//
// The setup resources answered that way are _index_template, _template,
// _component_template, _ilm/policy and _ingest/pipeline: Filebeat and
// Logstash look them up (HEAD/GET), find none, install theirs (PUT) and
// go on; a bulk-only ingest has no use for them, so it takes and drops
// them. Every answer, errors included, carries X-Elastic-Product:
// Elasticsearch, which the official clients check before anything else.

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// esDefaultVersion is the version GET / reports when es.version is empty.
const esDefaultVersion = "8.19.0"

// esClusterUUID is the fixed cluster_uuid of the version document.
const esClusterUUID = "c2x1aWNlLWh0dHAtc291cmNl"

// routesES registers the Elasticsearch routes on mux.
func routesES(mux *http.ServeMux, e endpoint) {
	h := &esHandler{e: e}
	mux.HandleFunc("GET /{$}", h.auth(h.root))
	mux.HandleFunc("GET /_cluster/health", h.auth(h.health))
	mux.HandleFunc("POST /_bulk", h.auth(h.bulk))
	mux.HandleFunc("PUT /_bulk", h.auth(h.bulk))
	mux.HandleFunc("POST /{index}/_bulk", h.auth(h.bulk))
	// PUT /_index_template/{name} and PUT /{index}/_bulk would conflict
	// (both match /_index_template/_bulk): one route takes every
	// two-segment PUT and tells them apart.
	mux.HandleFunc("PUT /{first}/{second}", h.auth(h.put2))
	mux.HandleFunc("GET /_license", h.auth(h.license))
	mux.HandleFunc("GET /_xpack", h.auth(h.xpack))
	mux.HandleFunc("GET /_nodes", h.auth(h.nodes))
	mux.HandleFunc("GET /_nodes/{rest...}", h.auth(h.nodes))
	for _, p := range esSetupPaths {
		mux.HandleFunc("GET "+p+"{name}", h.auth(h.setupMissing))
	}
	for _, p := range []string{"/_ilm/policy/{name}", "/_ingest/pipeline/{name}"} {
		mux.HandleFunc("PUT "+p, h.auth(h.setupAccept))
		mux.HandleFunc("POST "+p, h.auth(h.setupAccept))
	}
}

// esSetupPaths are the prefixes of the setup resources shippers look up
// and install.
var esSetupPaths = []string{"/_index_template/", "/_template/", "/_component_template/", "/_ilm/policy/", "/_ingest/pipeline/"}

// put2 answers a two-segment PUT: /{index}/_bulk, or the install of an
// index or component template.
func (h *esHandler) put2(w http.ResponseWriter, r *http.Request) {
	first, second := r.PathValue("first"), r.PathValue("second")
	switch {
	case second == "_bulk" && !strings.HasPrefix(first, "_"):
		r.SetPathValue("index", first)
		h.bulk(w, r)
	case first == "_index_template" || first == "_template" || first == "_component_template":
		h.setupAccept(w, r)
	default:
		esError(w, r, http.StatusNotFound, "illegal_argument_exception",
			fmt.Sprintf("no handler found for uri [%s] and method [PUT]", r.URL.Path), 0)
	}
}

// esHandler answers the Elasticsearch routes for one endpoint.
type esHandler struct{ e endpoint }

// auth wraps next with the endpoint's credential check, answered as
// Elasticsearch's security layer does.
func (h *esHandler) auth(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Elastic-Product", "Elasticsearch")
		if err := h.e.Authorize(r); err != nil {
			status, msg := http.StatusUnauthorized, err.Error()
			var he *Error
			if errors.As(err, &he) {
				status = he.Status
			}
			if status == http.StatusUnauthorized {
				w.Header().Set("WWW-Authenticate", `Basic realm="security", charset="UTF-8"`)
				w.Header().Add("WWW-Authenticate", `Bearer realm="security"`)
				w.Header().Add("WWW-Authenticate", `ApiKey`)
			}
			esError(w, r, status, "security_exception",
				fmt.Sprintf("%s for REST request [%s]", msg, r.URL.Path), 0)
			return
		}
		next(w, r)
	}
}

// root answers GET / with the version document Beats, Vector and the
// official clients read before their first request.
func (h *esHandler) root(w http.ResponseWriter, r *http.Request) {
	v := h.e.Settings().ESVersion
	if v == "" {
		v = esDefaultVersion
	}
	lucene := "9.12.0"
	if major, _, _ := strings.Cut(v, "."); major >= "9" && len(major) == 1 {
		lucene = "10.2.0"
	}
	esJSON(w, r, http.StatusOK, esObj{
		{"name", "sluice"},
		{"cluster_name", "sluice"},
		{"cluster_uuid", esClusterUUID},
		{"version", esObj{
			{"number", v},
			{"build_flavor", "default"},
			{"build_type", "docker"},
			{"build_hash", "0000000000000000000000000000000000000000"},
			{"build_date", "2025-01-01T00:00:00.000000000Z"},
			{"build_snapshot", false},
			{"lucene_version", lucene},
			{"minimum_wire_compatibility_version", "7.17.0"},
			{"minimum_index_compatibility_version", "7.0.0"},
		}},
		{"tagline", "You Know, for Search"},
	})
}

// health answers GET /_cluster/health: green, so health checks pass.
func (h *esHandler) health(w http.ResponseWriter, r *http.Request) {
	esJSON(w, r, http.StatusOK, esObj{
		{"cluster_name", "sluice"},
		{"status", "green"},
		{"timed_out", false},
		{"number_of_nodes", 1},
		{"number_of_data_nodes", 1},
		{"active_primary_shards", 0},
		{"active_shards", 0},
		{"relocating_shards", 0},
		{"initializing_shards", 0},
		{"unassigned_shards", 0},
		{"delayed_unassigned_shards", 0},
		{"number_of_pending_tasks", 0},
		{"number_of_in_flight_fetch", 0},
		{"task_max_waiting_in_queue_millis", 0},
		{"active_shards_percent_as_number", json.Number("100.0")},
	})
}

// license answers GET /_license with an active basic license (Beats'
// licence check and Logstash's ILM check read it).
func (h *esHandler) license(w http.ResponseWriter, r *http.Request) {
	esJSON(w, r, http.StatusOK, esObj{{"license", esObj{
		{"status", "active"},
		{"uid", "00000000-0000-0000-0000-000000000000"},
		{"type", "basic"},
		{"issue_date_in_millis", 0},
		{"max_nodes", 1000},
		{"issued_to", "sluice"},
		{"issuer", "sluice"},
		{"start_date_in_millis", -1},
	}}})
}

// xpack answers GET /_xpack: basic licence, ILM available (Beats and
// Logstash ask before they install a policy).
func (h *esHandler) xpack(w http.ResponseWriter, r *http.Request) {
	esJSON(w, r, http.StatusOK, esObj{
		{"build", esObj{{"hash", "0000000000000000000000000000000000000000"}, {"date", "2025-01-01T00:00:00.000000000Z"}}},
		{"license", esObj{{"uid", "00000000-0000-0000-0000-000000000000"}, {"type", "basic"}, {"mode", "basic"}, {"status", "active"}}},
		{"features", esObj{{"ilm", esObj{{"available", true}, {"enabled", true}}}}},
	})
}

// nodes answers GET /_nodes[/…] with no nodes: nothing to sniff.
func (h *esHandler) nodes(w http.ResponseWriter, r *http.Request) {
	esJSON(w, r, http.StatusOK, esObj{
		{"_nodes", esObj{{"total", 0}, {"successful", 0}, {"failed", 0}}},
		{"cluster_name", "sluice"},
		{"nodes", esObj{}},
	})
}

// setupMissing answers a lookup of a template, policy or pipeline: none
// is stored, so the shipper installs its own.
func (h *esHandler) setupMissing(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	esError(w, r, http.StatusNotFound, "resource_not_found_exception",
		fmt.Sprintf("%s [%s] not found: a log ingest keeps no setup resources", setupKind(r.URL.Path), name), 0)
}

// setupAccept takes an install of a template, policy or pipeline and
// drops it: a bulk-only ingest applies none.
func (h *esHandler) setupAccept(w http.ResponseWriter, r *http.Request) {
	if _, err := h.e.Body(r); err != nil {
		esFail(w, r, err)
		return
	}
	esJSON(w, r, http.StatusOK, esObj{{"acknowledged", true}})
}

// setupKind names the resource a setup path is about.
func setupKind(path string) string {
	switch {
	case strings.HasPrefix(path, "/_ilm/"):
		return "lifecycle policy"
	case strings.HasPrefix(path, "/_ingest/"):
		return "pipeline"
	case strings.HasPrefix(path, "/_component_template/"):
		return "component template"
	}
	return "index template"
}

// esContentType returns the response Content-Type: the compatible-with
// media type when the request asked for one (the 9.x clients do), JSON
// otherwise.
func esContentType(r *http.Request) string {
	accept := r.Header.Get("Accept")
	if accept == "" {
		accept = r.Header.Get("Content-Type")
	}
	if i := strings.Index(accept, "compatible-with="); i >= 0 && strings.Contains(accept, "vnd.elasticsearch") {
		v := accept[i+len("compatible-with="):]
		if j := strings.IndexAny(v, ",; "); j >= 0 {
			v = v[:j]
		}
		if _, err := strconv.Atoi(v); err == nil {
			return "application/vnd.elasticsearch+json;compatible-with=" + v
		}
	}
	return "application/json; charset=UTF-8"
}

// esJSON writes v as compact JSON with status.
func esJSON(w http.ResponseWriter, r *http.Request, status int, v any) {
	b, err := appendESJSON(make([]byte, 0, 512), v)
	if err != nil { // only our own values are written: a bug
		b = []byte(`{"error":{"type":"exception","reason":"encoding the answer"},"status":500}`)
		status = http.StatusInternalServerError
	}
	writeESBytes(w, r, status, b)
}

// writeESBytes writes an encoded answer; HEAD gets the headers only.
func writeESBytes(w http.ResponseWriter, r *http.Request, status int, b []byte) {
	w.Header().Set("X-Elastic-Product", "Elasticsearch")
	w.Header().Set("Content-Type", esContentType(r))
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(b)
	}
}

// esErrorBody is Elasticsearch's error document.
func esErrorBody(status int, typ, reason string) esObj {
	cause := esObj{{"type", typ}, {"reason", reason}}
	return esObj{
		{"error", esObj{{"root_cause", []any{cause}}, {"type", typ}, {"reason", reason}}},
		{"status", status},
	}
}

// esError writes an Elasticsearch error with status; retry, when set,
// becomes Retry-After (whole seconds, at least 1).
func esError(w http.ResponseWriter, r *http.Request, status int, typ, reason string, retry time.Duration) {
	if status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", secondsRetryAfter(retry))
	}
	esJSON(w, r, status, esErrorBody(status, typ, reason))
}

// esFail answers err (an *Error from the endpoint, or anything else) in
// Elasticsearch's format. Busy answers become 429
// es_rejected_execution_exception, which every ES client retries; never
// 500, which some shippers drop.
func esFail(w http.ResponseWriter, r *http.Request, err error) {
	var he *Error
	if !errors.As(err, &he) {
		he = &Error{Status: http.StatusServiceUnavailable, Msg: err.Error()}
	}
	switch status := he.Status; {
	case status == http.StatusTooManyRequests || status >= 500:
		esError(w, r, http.StatusTooManyRequests, "es_rejected_execution_exception", he.Msg, he.RetryAfter)
	case status == http.StatusRequestEntityTooLarge:
		esError(w, r, status, "content_too_long_exception", he.Msg, 0)
	case status == http.StatusUnsupportedMediaType:
		esError(w, r, status, "illegal_argument_exception", he.Msg, 0)
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		esError(w, r, status, "security_exception", he.Msg, 0)
	default:
		esError(w, r, status, "illegal_argument_exception", he.Msg, 0)
	}
}

// secondsRetryAfter renders d for Retry-After: whole seconds, rounded
// up, at least 1.
func secondsRetryAfter(d time.Duration) string {
	s := int64((d + time.Second - 1) / time.Second)
	if s < 1 {
		s = 1
	}
	return strconv.FormatInt(s, 10)
}
