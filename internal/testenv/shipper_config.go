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
// tag syslog-ng-3.38.1 (Debian 12's version), and observed for 503 and
// 429 (TestSyslogNGRetriesBackpressure: resent after time-reopen(), each
// line delivered once); response-action(CODE => success|retry|drop|
// disconnect) overrides a code. A batch (one request) is handled as a
// whole:
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
// v8.2302.0, and observed (TestRsyslog503, TestRsyslogResendsRejectedItems,
// TestRsyslogResendsAfterConnectionClose). The HTTP status code is not
// looked at: only the body is.
//
//   - curl failure (connection refused, closed without an answer,
//     indextimeout passed): the action suspends and resends the batch per
//     action.resumeRetryCount ("-1" = for ever) and action.resumeInterval;
//     nothing is lost or duplicated.
//   - a JSON body without "items" (e.g. Elasticsearch's own 429/503 error
//     document): data failure; the batch is written to errorfile and
//     dropped.
//   - a body that is not JSON (e.g. "Service Unavailable" text): the commit
//     fails; rsyslog resubmits the batch's messages one at a time, and
//     omelasticsearch's batch buffer, not emptied, sends the whole failed
//     batch again with the first of them: no loss, but every line of the
//     batch arrives twice.
//   - "errors":true with per-item statuses: without retryfailures the
//     batch is written to errorfile and dropped; with retryfailures="on"
//     every item of the batch, the accepted ones too, is re-injected as a
//     new message (its "message" field as the raw message) into
//     retryruleset (the default ruleset when unset) with $.omes metadata
//     ($.omes!status, $.omes!error) for the ruleset to filter on.
//   - an empty body: success, nothing checked.
//
// So a server that must push back on rsyslog without loss or duplicates
// answers 200 with "errors":true and per-item 429s (with the retryruleset
// of RsyslogElasticsearch), or closes the connection without answering.
// The HTTP source answers so with es.busy.response=items; with its default
// (request, a whole-request 429 error document) rsyslog drops the batch
// (connectors/httpsource TestRsyslogBackpressureThroughConnector shows
// both). syslog-ng, which retries every non-2xx, is safe with the default
// (TestSyslogNGBackpressureThroughConnector).

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
// and sending every message in _bulk mode to host:port's /_bulk into
// index, each document {"message":rawmsg,"host":…,"@timestamp":…}.
//
// The action runs in the ruleset sluice_es, which the default ruleset
// calls. retryfailures="on" re-injects every item of a batch with
// "errors":true into that ruleset with $.omes metadata; the ruleset stops
// the accepted ones (200, 201), writes refused ones (another 4xx than
// 429) to errorFile and resends the rest (429, 5xx). The action never gives
// up on an unreachable server (action.resumeRetryCount="-1"). A response
// that is not an _bulk answer is written to errorFile and dropped (see the
// response handling above). esversion.major="8" leaves out the _type that
// older Elasticsearch versions took. The template is built from constants
// rather than option.jsonf, whose output ends in a newline that would put
// an empty line after every document.
func RsyslogElasticsearch(host string, port int, index, errorFile string) string {
	return fmt.Sprintf(`module(load="omelasticsearch")
template(name="sluice_json" type="list") {
  constant(value="{\"message\":\"")    property(name="rawmsg" format="json")
  constant(value="\",\"host\":\"")     property(name="hostname" format="json")
  constant(value="\",\"@timestamp\":\"") property(name="timereported" dateFormat="rfc3339")
  constant(value="\"}")
}
template(name="sluice_omes" type="list") { property(name="$.omes" format="json") constant(value="\n") }
ruleset(name="sluice_es") {
  if $.omes!status == 200 or $.omes!status == 201 then stop
  if $.omes!status >= 400 and $.omes!status < 500 and $.omes!status != 429 then {
    action(type="omfile" file=%[4]q template="sluice_omes")
    stop
  }
  action(type="omelasticsearch"
    server=%[1]q serverport="%[2]d"
    searchIndex=%[3]q esversion.major="8"
    template="sluice_json"
    bulkmode="on" maxbytes="1m"
    queue.type="linkedlist" queue.size="10000" queue.dequeueBatchSize="100"
    errorfile=%[4]q
    retryfailures="on" retryruleset="sluice_es"
    action.resumeRetryCount="-1" action.resumeInterval="1")
}
call sluice_es
`, host, port, index, errorFile)
}
