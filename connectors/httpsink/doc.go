// Package httpsink is the HTTP sink connector: it sends the records of
// its topics to an HTTP endpoint, in batches, and lets the worker commit
// a record's offset only once the request holding it got a success
// answer (or the record was reported or skipped per behavior.on.error).
//
// One engine, two front-ends. The class named in connector.class chooses
// the keys and defaults:
//
//	io.sluice.connect.http.HttpSinkConnector       Confluent's keys (Sluice's own class)
//	io.confluent.connect.http.HttpSinkConnector    Confluent's keys
//	io.aiven.kafka.connect.http.HttpSinkConnector  Aiven's keys
//
// A key of the other front-end is refused, naming the class it belongs
// to, rather than ignored. Both reduce to one request model:
//
//	method  POST, PUT, PATCH (Aiven: POST); DELETE for a tombstone under behavior.on.null.values=delete
//	url     a template with ${topic} and ${key}, the values URL-escaped (Aiven: static)
//	headers the configured ones, the Authorization of the auth mode
//	body    prefix + record₁ + separator + record₂ … + suffix
//	batch   records with the same URL, batch key and (Confluent) Kafka headers
//
// Defaults that differ: Confluent sends one record per request
// (batch.max.size=1) as a JSON array ("[v]"), retries every status from
// 400 five times with a doubling backoff; Aiven sends one record per POST
// unless batching.enabled, as NDJSON with a trailing newline and no
// Content-Type unless http.headers.content.type is set, retries every
// status from 400 once after a fixed backoff, and fails on a tombstone.
//
// A batch is sent when it reaches batch.max.size records or
// batch.max.bytes, and at every worker flush (offset.flush.interval.ms);
// a batch that fails stays buffered and Flush returns no offsets, so a
// failure never commits what the endpoint did not accept.
//
// Files: keys.go declares the keys, settings.go resolves them per
// front-end, template.go and body.go render URLs and bodies, client.go
// builds the HTTP client (timeouts, proxy, TLS, the SSRF guard), auth.go
// the credentials (with the OAuth2 client-credentials grant), send.go
// sends with retries, task.go batches, reporter.go writes Confluent's
// success and error topics.
package httpsink
