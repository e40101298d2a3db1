package httpsource

import (
	"context"
	"net/http"
	"time"
)

// Event is one log event a protocol decoded from a request; the server
// turns each into one record.
type Event struct {
	// Value is the event as decoded JSON (map[string]any, []any, string,
	// json.Number, bool or nil): an Elasticsearch document, a HEC event,
	// a Loki line, an OTLP log record, a generic JSON value.
	Value any
	// Time is the event's own timestamp; the zero time means it has none
	// and the record gets the time the request arrived.
	Time time.Time
	// Meta is the shipper's metadata for the event, in order: the fields
	// of the table in doc.go (index, host, source, sourcetype, tenant,
	// labels.<name>, resource.<attribute>, …). topic.format, key.field and
	// metadata.location read them.
	Meta []Field
}

// Field is one metadata field of an event.
type Field struct{ Name, Value string }

// Get returns the value of the last field named name.
func (e *Event) Get(name string) (string, bool) {
	for i := len(e.Meta) - 1; i >= 0; i-- {
		if e.Meta[i].Name == name {
			return e.Meta[i].Value, true
		}
	}
	return "", false
}

// Error is a request's failure as its protocol answers it: the HTTP
// status, a message naming what was wrong (the line, the field, the
// limit), and for 429 and 503 how long the client should wait.
type Error struct {
	Status     int
	Msg        string
	RetryAfter time.Duration
}

func (e *Error) Error() string { return e.Msg }

// The names of the protocols, as the protocols key lists them and the
// protocol metadata field holds them.
const (
	ProtoES      = "elasticsearch"
	ProtoHEC     = "splunk_hec"
	ProtoLoki    = "loki"
	ProtoOTLP    = "otlp"
	ProtoGeneric = "json"
)

// endpoint is what the server gives each protocol's handlers.
type endpoint interface {
	// Body reads r's body whole, decoding its Content-Encoding (gzip,
	// deflate/zlib, snappy, zstd; anything else is a 415), within the
	// size limit (413 naming max.request.bytes, before and after
	// decompression). The error is an *Error.
	Body(r *http.Request) ([]byte, error)
	// Authorize checks r's credentials (Authorization: Bearer, Basic,
	// Splunk <token>, or ApiKey): nil when they are accepted or none are
	// configured; an *Error with 401 when they are missing, 403 when
	// wrong. The protocol answers it in its own format.
	Authorize(r *http.Request) error
	// Deliver writes events as records and returns once the broker
	// acknowledged every one (acks=all), or an *Error: 429 or 503 with
	// RetryAfter when the queue stayed full or the acknowledgement did
	// not come in time (records already queued may still arrive: the
	// client's retry makes duplicates, never a loss), 413 when events
	// exceed max.events.per.request. proto names the protocol for the
	// protocol field; r gives the request's own metadata (path,
	// remote address, headers kept as headers.*).
	Deliver(ctx context.Context, r *http.Request, proto string, events []Event) error
	// Settings returns the connector's protocol settings.
	Settings() *Settings
}

// Settings are the protocol-specific keys' values.
type Settings struct {
	// ESVersion is the version number GET / reports (es.version):
	// Beats refuses an Elasticsearch older than itself.
	ESVersion string
	// ESBusyItems answers a busy _bulk request 200 with every written
	// item refused 429 rather than 429 as a whole (es.busy.response=items).
	ESBusyItems bool
	// HECAck turns on Splunk indexer acknowledgements (hec.ack.enabled).
	HECAck bool
	// JSONPaths are the paths of the generic JSON endpoint (json.paths).
	JSONPaths []string
	// TimestampField is the generic events' timestamp field
	// (json.timestamp.field), empty for none.
	TimestampField string
	// MaxEvents is max.events.per.request, which also bounds the items
	// of an answer that has one per action (Elasticsearch _bulk); 0 for
	// no bound.
	MaxEvents int
}
