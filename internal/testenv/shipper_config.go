package testenv

import (
	"fmt"
	"strconv"
)

// Ready-made shipper destinations, as users would write them to point a
// shipper at an HTTP log source (the README's "Point your shipper at
// Sluice" shows the same).
//
// # syslog-ng 3.38 http() response handling
//
// From modules/http/http-worker.c and lib/logthrdest/logthrdestdrv.c at
// tag syslog-ng-3.38.1 (Debian 12's version); response-action(CODE =>
// success|retry|drop|disconnect) overrides a code. A batch (one request) is
// handled as a whole:
//
//   - 2xx: success.
//   - "disconnect" (rewind the batch, suspend for time-reopen(), default
//     60 s, then resend; retried for ever, never dropped): every code not
//     listed below, among them 400, 401, 403, 404, 408, 413, 429, 500, 502,
//     503, 301/302 when redirects are not followed, and 1xx other than
//     102/103. A permanent 400 or 413 therefore blocks the destination for
//     good (flow control then stops reading the source).
//   - "retry" (rewind and resend, after time-reopen(); after retries()
//     failures, default 3, the batch is dropped): 102, 103, 304, 428, 504.
//   - "drop" (the batch is discarded and counted as dropped): 410, 416, 422,
//     424, 425, 451, 508.
//   - a connection error (refused, reset, timeout(), which is 0 = curl's
//     default by default) is "disconnect": retried for ever.
//
// The response body is never read: elasticsearch-http() is http() with an
// _bulk body, so per-item errors in a 200 _bulk answer are lost.
//
// # rsyslog 8.2302 omelasticsearch response handling
//
// From plugins/omelasticsearch/omelasticsearch.c and action.c at tag
// v8.2302.0. The HTTP status code is not looked at: only the body is.
//
//   - curl failure (connection refused or reset, indextimeout passed):
//     the action suspends and is retried per action.resumeRetryCount
//     ("-1" = for ever) and action.resumeInterval; nothing is lost.
//   - a body that is not JSON (e.g. "Service Unavailable" text with a 503):
//     the batch is lost ("action ... message lost, could not be processed").
//   - a JSON body without "items" (e.g. Elasticsearch's own 429/503 error
//     document): data failure, written to errorfile, then dropped.
//   - "errors":true with per-item statuses: without retryfailures the
//     batch's items are written to errorfile and dropped; with
//     retryfailures="on" every item of the batch (the successful ones too)
//     is re-injected as a new message into retryruleset (the default
//     ruleset when unset) with $.omes metadata (status, error) for the
//     ruleset to filter on.
//   - an empty body: success, nothing checked.
//
// So the only answer that makes omelasticsearch resend a whole batch is
// not answering (closing the connection); a per-item 429 with
// retryfailures="on" resends single records.

// SyslogNGHTTPNDJSON returns a syslog-ng http() destination that POSTs
// batches of up to batchLines messages to url as newline-delimited JSON
// objects {"message":…,"host":…,"@timestamp":…}, each line ending in "\n",
// with an Authorization: Bearer header when token is not empty.
func SyslogNGHTTPNDJSON(url, token string, batchLines int) string {
	return syslogNGHTTP(url, token, batchLines, "application/x-ndjson", "", `\n`, `\n`)
}

// SyslogNGHTTPJSONArray returns a syslog-ng http() destination that POSTs
// batches of up to batchLines messages to url as one JSON array of objects
// like SyslogNGHTTPNDJSON's.
func SyslogNGHTTPJSONArray(url, token string, batchLines int) string {
	return syslogNGHTTP(url, token, batchLines, "application/json", "[", ",", "]")
}

// syslogNGJSONBody is the per-message template of the http() snippets.
const syslogNGJSONBody = `$(format-json --scope none message=$MESSAGE host=$HOST @timestamp=$ISODATE)`

func syslogNGHTTP(url, token string, batchLines int, contentType, prefix, delimiter, suffix string) string {
	headers := strconv.Quote("Content-Type: " + contentType)
	if token != "" {
		headers += " " + strconv.Quote("Authorization: Bearer "+token)
	}
	return fmt.Sprintf(`http(
    url(%q)
    method("POST")
    headers(%s)
    body(%q)
    body-prefix(%q)
    delimiter("%s")
    body-suffix("%s")
    batch-lines(%d)
    batch-timeout(200)
    workers(1)
    timeout(10)
  );`, url, headers, syslogNGJSONBody, prefix, delimiter, suffix, batchLines)
}

// SyslogNGElasticsearch returns a syslog-ng elasticsearch-http() destination
// (the SCL block in scl/elasticsearch/elastic-http.conf over http()) that
// POSTs _bulk NDJSON to baseURL+"/_bulk": an {"index":{"_index":index}}
// line (type("") leaves out _type) then the message as RFC 5424 JSON with
// @timestamp, batchLines messages per request.
func SyslogNGElasticsearch(baseURL, index string, batchLines int) string {
	return fmt.Sprintf(`elasticsearch-http(
    url(%q)
    index(%q)
    type("")
    batch-lines(%d)
    batch-timeout(200)
    workers(1)
  );`, baseURL+"/_bulk", index, batchLines)
}

// RsyslogElasticsearch returns rsyslog statements loading omelasticsearch
// and an action sending every message in _bulk mode to host:port's /_bulk
// into index, each document {"message":rawmsg,"host":…,"@timestamp":…}.
// The action never gives up on a suspended server
// (action.resumeRetryCount="-1"), keeps a disk-less in-memory queue, writes
// refused items to errorFile, and with retryFailures re-injects failed items
// (see the response handling above). esversion.major="8" leaves out the
// _type that older Elasticsearch versions took.
func RsyslogElasticsearch(host string, port int, index, errorFile string, retryFailures bool) string {
	onOff := "off"
	if retryFailures {
		onOff = "on"
	}
	return fmt.Sprintf(`module(load="omelasticsearch")
template(name="sluice_json" type="list" option.jsonf="on") {
  property(outname="message" name="rawmsg" format="jsonf")
  property(outname="host" name="hostname" format="jsonf")
  property(outname="@timestamp" name="timereported" dateFormat="rfc3339" format="jsonf")
}
action(type="omelasticsearch"
  server=%q serverport="%d"
  searchIndex=%q esversion.major="8"
  template="sluice_json"
  bulkmode="on" maxbytes="1m"
  queue.type="linkedlist" queue.size="10000" queue.dequeueBatchSize="100"
  errorfile=%q
  retryfailures=%q
  action.resumeRetryCount="-1" action.resumeInterval="1")
`, host, port, index, errorFile, onOff)
}
