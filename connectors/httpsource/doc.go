// Package httpsource is the HTTP log-ingestion source,
// io.sluice.connect.http.HttpSourceConnector: one listener that speaks the
// push protocols log shippers already use — Elasticsearch _bulk, Splunk
// HEC, Loki push, OTLP/HTTP logs and generic JSON — and answers a request
// 2xx only once the broker acknowledged every record from it.
//
// Each event becomes one record whose value is the event as schemaless
// JSON. The shipper's metadata travels with it as fields, which
// metadata.location puts in headers or the value and topic.format and
// key.field read:
//
//	every protocol  protocol (elasticsearch, splunk_hec, loki, otlp, json),
//	                tenant (X-Scope-OrgID)
//	elasticsearch   index, id (when given), pipeline, routing, action
//	splunk_hec      host, source, sourcetype, index, fields.<name>, channel
//	loki            labels.<name>, metadata.<name> (structured metadata)
//	otlp            resource.<attribute>, scope.name, scope.version,
//	                scope.attributes.<attribute>
//
// Layout: body.go decodes request bodies within limits; es*.go, hec*.go,
// loki*.go, otlp*.go and json.go each parse one protocol and answer in its
// format, through the endpoint interface of protocol.go; server.go owns
// the listeners, authentication, limits and delivery through the kit's
// AckQueue; records.go turns events into records; plugin.go, config.go
// and task.go are the connector.
package httpsource
