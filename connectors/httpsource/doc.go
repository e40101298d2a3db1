// Package httpsource is the HTTP log-ingestion source,
// io.sluice.connect.http.HttpSourceConnector: one listener that speaks the
// push protocols log shippers already use — Elasticsearch _bulk, Splunk
// HEC, Loki push, OTLP/HTTP logs and generic JSON — and answers a request
// 2xx only once the broker acknowledged every record from it.
//
// Layout: body.go decodes request bodies within limits; es.go, hec.go,
// loki.go, otlp.go and json.go each parse one protocol and answer in its
// format, through the endpoint interface of protocol.go; server.go owns
// the listener, authentication, limits and delivery through the kit's
// AckQueue; plugin.go and task.go are the connector.
package httpsource
