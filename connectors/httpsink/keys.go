package httpsink

import (
	"time"

	"github.com/sluicehq/sluice/connectors/kit"
	"github.com/sluicehq/sluice/runtime/connect"
)

// The config keys of both front-ends. Keys the two connectors share but
// default differently (batch.max.size, batch.prefix/suffix/separator,
// max.retries) are declared with a null default and resolved per
// front-end in resolve; the doc of each says both defaults.

const (
	grpConn    = "Connection"
	grpAuth    = "Authentication"
	grpRetry   = "Retries"
	grpBatch   = "Batching"
	grpErrors  = "Errors"
	grpTLS     = "TLS"
	grpAiven   = "Aiven"
	grpReports = "Reporter"
)

func g(name string, i int) kit.Option { return kit.Group(name, i) }

// Confluent's keys (io.confluent.connect.http.HttpSinkConnector), also
// Sluice's own class's.
var (
	apiURL = kit.String("http.api.url", "", connect.High,
		"Confluent front-end: the URL records are sent to (required). ${topic} and ${key} are replaced by the record's topic and key, URL-escaped.",
		kit.NullDefault(), g(grpConn, 1))
	requestMethod = kit.String("request.method", "post", connect.High,
		"Confluent front-end: the HTTP method, POST, PUT or PATCH (any case).",
		kit.Validate(connect.OneOf{Values: []string{"post", "put", "patch"}, CaseInsensitive: true}), g(grpConn, 2))
	headersKey = kit.String("headers", "", connect.Medium,
		"Confluent front-end: headers sent on every request, Name:Value pairs separated by header.separator.",
		kit.NullDefault(), g(grpConn, 3))
	headerSeparator = kit.String("header.separator", "|", connect.Low,
		"Confluent front-end: the separator between the pairs of headers.", g(grpConn, 4))
	proxyHost = kit.String("http.proxy.host", "", connect.Low,
		"The host of an HTTP proxy requests go through; unset means none.", kit.NullDefault(), g(grpConn, 5))
	proxyPort = kit.Int("http.proxy.port", 0, connect.Low,
		"The port of the HTTP proxy (Confluent's default 0 and Aiven's -1 both mean unset).", g(grpConn, 6))
	proxyUser = kit.String("http.proxy.user", "", connect.Low,
		"Confluent front-end: the user of the proxy's basic authentication.", kit.NullDefault(), g(grpConn, 7))
	proxyPassword = kit.Password("http.proxy.password", connect.Low,
		"Confluent front-end: the password of the proxy's basic authentication.", g(grpConn, 8))
	connectTimeout = kit.Millis("http.connect.timeout.ms", 30*time.Second, connect.Low,
		"Confluent front-end: how long establishing a connection (TCP and TLS) may take.", g(grpConn, 9))
	requestTimeout = kit.Millis("http.request.timeout.ms", 30*time.Second, connect.Low,
		"Confluent front-end: how long one request may take, from sending to reading the whole answer.", g(grpConn, 10))
	nullValues = kit.String("behavior.on.null.values", "ignore", connect.Medium,
		"Confluent front-end: what a record with a null value (a tombstone) does: ignore (skip it), delete (send DELETE to the templated URL), log (skip it with a log line), fail (the task fails, or the record goes to the DLQ under errors.tolerance=all).",
		kit.Validate(connect.OneOf{Values: []string{"ignore", "delete", "log", "fail"}, CaseInsensitive: true}), g(grpConn, 11))
	deletesInOrder = kit.Bool("deletes.send.in.order", false, connect.Low,
		"Confluent front-end: with behavior.on.null.values=delete, send the batches buffered before a DELETE first; by default a DELETE goes at once.", g(grpConn, 12))
	behaviorOnError = kit.String("behavior.on.error", "fail", connect.Medium,
		"Confluent front-end: what a request that still fails after max.retries does: fail (each record of it is reported: the task fails under errors.tolerance=none, the records go to the DLQ under all), log (logged at Error and skipped), ignore (skipped).",
		kit.Validate(connect.OneOf{Values: []string{"fail", "log", "ignore"}, CaseInsensitive: true}), g(grpErrors, 1))
	disallowLocal = kit.Bool("connection.disallow.local.ips", false, connect.Low,
		"Refuse to connect to loopback, link-local and unspecified addresses, checked after DNS resolution (SSRF guard).", g(grpConn, 13))
	disallowPrivate = kit.Bool("connection.disallow.private.ips", false, connect.Low,
		"Refuse to connect to private addresses (10/8, 172.16/12, 192.168/16, 100.64/10, fc00::/7), checked after DNS resolution.", g(grpConn, 14))
	disallowClassE = kit.Bool("connection.disallow.class.e.ips", false, connect.Low,
		"Refuse to connect to class E addresses (240.0.0.0/4), checked after DNS resolution.", g(grpConn, 15))
	disallowCIDRs = kit.List("connection.disallow.cidr.ranges", nil, connect.Low,
		"CIDR ranges the connector refuses to connect to, checked after DNS resolution.", g(grpConn, 16))
	allowCIDRs = kit.List("connection.allow.cidr.ranges", nil, connect.Low,
		"CIDR ranges the connector may connect to even when a disallow rule matches them.", g(grpConn, 17))

	authType = kit.String("auth.type", "NONE", connect.High,
		"Confluent front-end: NONE, BASIC (connection.user/connection.password), OAUTH2 (client credentials) or BEARER (bearer.token).",
		kit.Validate(connect.OneOf{Values: []string{"NONE", "BASIC", "OAUTH2", "BEARER"}, CaseInsensitive: true}), g(grpAuth, 1))
	connUser = kit.String("connection.user", "", connect.Medium,
		"Confluent front-end: the user of BASIC authentication.", kit.NullDefault(), g(grpAuth, 2))
	connPassword = kit.Password("connection.password", connect.Medium,
		"Confluent front-end: the password of BASIC authentication.", g(grpAuth, 3))
	bearerToken = kit.Password("bearer.token", connect.Medium,
		"Confluent front-end: the token sent as Authorization: Bearer <token> with auth.type=BEARER.", g(grpAuth, 4))
	tokenURL = kit.String("oauth2.token.url", "", connect.Medium,
		"Confluent front-end: the OAuth2 token endpoint (client credentials grant).", kit.NullDefault(), g(grpAuth, 5))
	clientID = kit.String("oauth2.client.id", "", connect.Medium,
		"The OAuth2 client id.", kit.NullDefault(), g(grpAuth, 6))
	clientSecret = kit.Password("oauth2.client.secret", connect.Medium,
		"The OAuth2 client secret.", g(grpAuth, 7))
	tokenProperty = kit.String("oauth2.token.property", "access_token", connect.Low,
		"Confluent front-end: the field of the token response holding the access token.", g(grpAuth, 8))
	clientAuthMode = kit.String("oauth2.client.auth.mode", "header", connect.Low,
		"Confluent front-end: how the client authenticates to the token endpoint: header (HTTP Basic) or url (client_id and client_secret as form fields).",
		kit.Validate(connect.OneOf{Values: []string{"header", "url"}, CaseInsensitive: true}), g(grpAuth, 9))
	clientScope = kit.String("oauth2.client.scope", "", connect.Low,
		"The scope asked of the token endpoint; Confluent's default is any, Aiven's none.", kit.NullDefault(), g(grpAuth, 10))
	clientHeaders = kit.String("oauth2.client.headers", "", connect.Low,
		"Confluent front-end: extra headers on token requests, Name:Value pairs separated by oauth2.client.header.separator.", kit.NullDefault(), g(grpAuth, 11))
	clientHeaderSep = kit.String("oauth2.client.header.separator", "|", connect.Low,
		"Confluent front-end: the separator of oauth2.client.headers.", g(grpAuth, 12))
	jwtEnabled = kit.Bool("oauth2.jwt.enabled", false, connect.Low,
		"Confluent front-end: JWT client assertions; not supported by Sluice (true is refused).", g(grpAuth, 13))

	maxRetries = kit.Int("max.retries", 0, connect.Medium,
		"Retries of a failed request before behavior.on.error applies; Confluent's default is 5, Aiven's 1.", kit.NullDefault(), g(grpRetry, 1))
	retryBackoff = kit.Millis("retry.backoff.ms", 3*time.Second, connect.Medium,
		"The wait before the first retry. Confluent front-end: doubled after each retry, up to 32 times this or 5 minutes, whichever is less (with 20% jitter); Aiven front-end: the same wait every time. A Retry-After header on a 429 or 503 answer is honoured instead when it asks for longer.", g(grpRetry, 2))
	retryCodes = kit.String("retry.on.status.codes", "400-", connect.Medium,
		"Confluent front-end: the statuses retried, comma-separated codes and inclusive ranges (404,408,500-); the default retries every status from 400.", g(grpRetry, 3))

	regexPatterns = kit.String("regex.patterns", "", connect.Low,
		"Confluent front-end: regular expressions applied to each record's body, separated by regex.separator.", kit.NullDefault(), g(grpBatch, 1))
	regexReplacements = kit.String("regex.replacements", "", connect.Low,
		"Confluent front-end: the replacement of each pattern (${key} and ${topic} allowed), separated by regex.separator.", kit.NullDefault(), g(grpBatch, 2))
	regexSeparator = kit.String("regex.separator", "~", connect.Low,
		"Confluent front-end: the separator of regex.patterns and regex.replacements.", g(grpBatch, 3))
	bodyFormat = kit.String("request.body.format", "string", connect.Medium,
		"Confluent front-end: how a record becomes part of the body: string (the value as text) or json (the value as JSON).",
		kit.Validate(connect.OneOf{Values: []string{"string", "json"}, CaseInsensitive: true}), g(grpBatch, 4))
	jsonAsArray = kit.Bool("batch.json.as.array", true, connect.Medium,
		"Confluent front-end: send a batch as a JSON array ([a,b]); false joins records with batch.prefix, batch.separator and batch.suffix.", g(grpBatch, 5))
	batchKeyPattern = kit.String("batch.key.pattern", "someKey", connect.Low,
		"Confluent front-end: records go in the same batch only when this pattern (with ${key}, ${topic}) renders the same.", g(grpBatch, 6))
	batchMaxSize = kit.Int("batch.max.size", 0, connect.Medium,
		"Records per request at most; Confluent's default is 1, Aiven's 500 (with batching.enabled=true).", kit.NullDefault(), g(grpBatch, 7))
	batchMaxBytes = kit.Long("batch.max.bytes", 16<<20, connect.Low,
		"Sluice: the body size at which a batch is sent even if batch.max.size is not reached.", g(grpBatch, 8))
	batchPrefix = kit.String("batch.prefix", "", connect.Low,
		"Text before the records of a batch; default empty in both.", kit.NullDefault(), g(grpBatch, 9))
	batchSuffix = kit.String("batch.suffix", "", connect.Low,
		"Text after the records of a batch; Confluent's default is empty, Aiven's a newline.", kit.NullDefault(), g(grpBatch, 10))
	batchSeparator = kit.String("batch.separator", "", connect.Low,
		"Text between the records of a batch; Confluent's default is a comma, Aiven's a newline.", kit.NullDefault(), g(grpBatch, 11))
	batchSeperator = kit.String("batch.seperator", "", connect.Low,
		"Confluent front-end: the old misspelling of batch.separator.", kit.NullDefault(), g(grpBatch, 12))
	jsonDecimalFormat = kit.String("json.decimal.format", "BASE64", connect.Low,
		"Confluent front-end: how request.body.format=json writes decimals: BASE64 or NUMERIC.",
		kit.Validate(connect.OneOf{Values: []string{"BASE64", "NUMERIC"}, CaseInsensitive: true}), g(grpBatch, 13))
	csfleEnabled = kit.Bool("csfle.enabled", false, connect.Low,
		"Confluent front-end: client-side field level encryption; not supported (true is refused).", g(grpBatch, 14))

	reporterServers = kit.List("reporter.bootstrap.servers", nil, connect.Medium,
		"Confluent front-end: the brokers of the reporter's producer. The reporter (one record per delivered record to the result topic, one per failed record to the error topic) is on when this or any reporter topic key or report.errors.as is set; without this key it produces to the worker's own Kafka cluster. Its topics are created with one partition and replication factor 3, lowered to the broker count on smaller clusters.", g(grpReports, 1))
	reporterResultTopic = kit.String("reporter.result.topic.name", "${connector}-success", connect.Low,
		"Confluent front-end: the reporter's topic for successes; ${connector} is the connector's name.", g(grpReports, 2))
	reporterErrorTopic = kit.String("reporter.error.topic.name", "${connector}-error", connect.Low,
		"Confluent front-end: the reporter's topic for failures; ${connector} is the connector's name.", g(grpReports, 3))
	reportErrorsAs = kit.String("report.errors.as", "error_string", connect.Low,
		"Confluent front-end: the value of error-topic records: error_string (the error message) or http_response (the response body).",
		kit.Validate(connect.OneOf{Values: []string{"error_string", "http_response"}}), g(grpReports, 4))

	sslKeyPassword = kit.Password("https.ssl.key.password", connect.Low, "Confluent front-end: not supported (encrypted PEM keys are not read); refused when set.", g(grpTLS, 1))
	sslKeystoreLoc = kit.String("https.ssl.keystore.location", "", connect.Low,
		"Confluent front-end: a PEM file with the client certificate chain and its private key (JKS and PKCS12 are not supported).", kit.NullDefault(), g(grpTLS, 2))
	sslKeystoreType = kit.String("https.ssl.keystore.type", "", connect.Low,
		"Confluent front-end: PEM only; JKS and PKCS12 are refused.", kit.NullDefault(), g(grpTLS, 3))
	sslKeystoreKey   = kit.Password("https.ssl.keystore.key", connect.Low, "Confluent front-end: the client's private key, inline PEM.", g(grpTLS, 4))
	sslKeystoreChain = kit.String("https.ssl.keystore.certificate.chain", "", connect.Low,
		"Confluent front-end: the client's certificate chain, inline PEM.", kit.NullDefault(), g(grpTLS, 5))
	sslTruststoreLoc = kit.String("https.ssl.truststore.location", "", connect.Low,
		"Confluent front-end: a PEM file of the CA certificates the server must chain to (JKS and PKCS12 are not supported).", kit.NullDefault(), g(grpTLS, 6))
	sslTruststoreType = kit.String("https.ssl.truststore.type", "", connect.Low,
		"Confluent front-end: PEM only; JKS and PKCS12 are refused.", kit.NullDefault(), g(grpTLS, 7))
	sslTruststoreCerts = kit.String("https.ssl.truststore.certificates", "", connect.Low,
		"Confluent front-end: the CA certificates, inline PEM.", kit.NullDefault(), g(grpTLS, 8))
	sslProtocol = kit.String("https.ssl.protocol", "TLSv1.3", connect.Low,
		"Confluent front-end: the lowest TLS version accepted unless https.ssl.enabled.protocols says otherwise (TLSv1.2 or TLSv1.3).", g(grpTLS, 9))
	sslEnabledProtocols = kit.List("https.ssl.enabled.protocols", nil, connect.Low,
		"Confluent front-end: the TLS versions accepted; the lowest listed is the minimum.", g(grpTLS, 10))
	sslEndpointID = kit.String("https.ssl.endpoint.identification.algorithm", "https", connect.Low,
		"Confluent front-end: https checks the server's host name; empty checks its chain only.", g(grpTLS, 11))
)

// Aiven's keys (io.aiven.kafka.connect.http.HttpSinkConnector).
var (
	aivenURL = kit.String("http.url", "", connect.High,
		"Aiven front-end: the URL records are POSTed to (required; no templating).", kit.NullDefault(), g(grpAiven, 1))
	aivenAuthType = kit.String("http.authorization.type", "", connect.High,
		"Aiven front-end: none, static (http.headers.authorization) or oauth2 (required).", kit.NullDefault(), g(grpAiven, 2))
	aivenAuthorization = kit.Password("http.headers.authorization", connect.Medium,
		"Aiven front-end: the whole Authorization header value with http.authorization.type=static.", g(grpAiven, 3))
	aivenContentType = kit.String("http.headers.content.type", "", connect.Medium,
		"Aiven front-end: the Content-Type header; when unset, none is sent.", kit.NullDefault(), g(grpAiven, 4))
	aivenHeaders = kit.List("http.headers.additional", []string{}, connect.Low,
		"Aiven front-end: headers sent on every request, a list of Name:Value.", g(grpAiven, 5))
	aivenTrustAll = kit.Bool("http.ssl.trust.all.certs", false, connect.Low,
		"Aiven front-end: accept any server certificate (tests only).", g(grpAiven, 6))
	aivenTruststoreLoc = kit.String("http.ssl.truststore.location", "", connect.Low,
		"Aiven front-end: a PEM file of the CA certificates the server must chain to (JKS is not supported).", kit.NullDefault(), g(grpAiven, 7))
	aivenTruststorePassword = kit.Password("http.ssl.truststore.password", connect.Low,
		"Aiven front-end: a truststore password; PEM truststores have none, so a set value is refused.", g(grpAiven, 8))
	aivenTimeout = kit.Int("http.timeout", 30, connect.Low,
		"Aiven front-end: the timeout of one request, in seconds.", kit.Validate(connect.AtLeast(1)), g(grpAiven, 9))
	aivenTokenURL = kit.String("oauth2.access.token.url", "", connect.Medium,
		"Aiven front-end: the OAuth2 token endpoint.", kit.NullDefault(), g(grpAiven, 10))
	aivenClientAuthMode = kit.String("oauth2.client.authorization.mode", "HEADER", connect.Low,
		"Aiven front-end: HEADER (HTTP Basic) or URL (form fields).",
		kit.Validate(connect.OneOf{Values: []string{"HEADER", "URL"}, CaseInsensitive: true}), g(grpAiven, 11))
	aivenGrantType = kit.String("oauth2.grant.type", "client_credentials", connect.Low,
		"Aiven front-end: the grant type sent to the token endpoint.", g(grpAiven, 12))
	aivenGrantTypeProp = kit.String("oauth2.request.grant.type.property", "grant_type", connect.Low,
		"Aiven front-end: the form field of the grant type.", g(grpAiven, 13))
	aivenClientIDProp = kit.String("oauth2.request.client.id.property", "client_id", connect.Low,
		"Aiven front-end: the form field of the client id (mode URL).", g(grpAiven, 14))
	aivenClientSecretProp = kit.String("oauth2.request.client.secret.property", "client_secret", connect.Low,
		"Aiven front-end: the form field of the client secret (mode URL).", g(grpAiven, 15))
	aivenTokenProp = kit.String("oauth2.response.token.property", "access_token", connect.Low,
		"Aiven front-end: the field of the token response holding the access token.", g(grpAiven, 16))
	aivenRenewOn = kit.List("oauth2.token.renew.on.status.codes", []string{"401"}, connect.Low,
		"Aiven front-end: statuses after which a new token is fetched and the request retried once.", g(grpAiven, 17))
	aivenBatching = kit.Bool("batching.enabled", false, connect.Medium,
		"Aiven front-end: false sends one request per record; true batches up to batch.max.size.", g(grpAiven, 18))
	aivenKafkaRetry = kit.Long("kafka.retry.backoff.ms", 0, connect.Low,
		"Aiven front-end: not supported (the worker's redelivery is not exposed to the task); refused when set.", kit.NullDefault(), g(grpAiven, 19))
	aivenDecimalFormat = kit.String("decimal.format", "BASE64", connect.Low,
		"Aiven front-end: how decimals are written in JSON: BASE64 or NUMERIC.",
		kit.Validate(connect.OneOf{Values: []string{"BASE64", "NUMERIC"}, CaseInsensitive: true}), g(grpAiven, 20))
)

// Config declares every key of both front-ends.
var Config = kit.Def(
	apiURL, requestMethod, headersKey, headerSeparator, proxyHost, proxyPort, proxyUser, proxyPassword,
	connectTimeout, requestTimeout, nullValues, deletesInOrder, behaviorOnError,
	disallowLocal, disallowPrivate, disallowClassE, disallowCIDRs, allowCIDRs,
	authType, connUser, connPassword, bearerToken, tokenURL, clientID, clientSecret, tokenProperty,
	clientAuthMode, clientScope, clientHeaders, clientHeaderSep, jwtEnabled,
	maxRetries, retryBackoff, retryCodes,
	regexPatterns, regexReplacements, regexSeparator, bodyFormat, jsonAsArray, batchKeyPattern,
	batchMaxSize, batchMaxBytes, batchPrefix, batchSuffix, batchSeparator, batchSeperator, jsonDecimalFormat, csfleEnabled,
	reporterServers, reporterResultTopic, reporterErrorTopic, reportErrorsAs,
	sslKeyPassword, sslKeystoreLoc, sslKeystoreType, sslKeystoreKey, sslKeystoreChain,
	sslTruststoreLoc, sslTruststoreType, sslTruststoreCerts, sslProtocol, sslEnabledProtocols, sslEndpointID,
	aivenURL, aivenAuthType, aivenAuthorization, aivenContentType, aivenHeaders, aivenTrustAll,
	aivenTruststoreLoc, aivenTruststorePassword, aivenTimeout, aivenTokenURL, aivenClientAuthMode,
	aivenGrantType, aivenGrantTypeProp, aivenClientIDProp, aivenClientSecretProp, aivenTokenProp,
	aivenRenewOn, aivenBatching, aivenKafkaRetry, aivenDecimalFormat,
)

// confluentOnly and aivenOnly name the keys that belong to one front-end:
// setting one under the other's class is refused, naming its class.
var (
	confluentOnly = names(apiURL, requestMethod, headersKey, headerSeparator, proxyUser, proxyPassword,
		connectTimeout, requestTimeout, nullValues, deletesInOrder, behaviorOnError,
		authType, connUser, connPassword, bearerToken, tokenURL, tokenProperty, clientAuthMode,
		clientHeaders, clientHeaderSep, jwtEnabled, retryCodes, regexPatterns, regexReplacements,
		regexSeparator, bodyFormat, jsonAsArray, batchKeyPattern, batchSeperator, jsonDecimalFormat,
		csfleEnabled, reporterServers, reporterResultTopic, reporterErrorTopic, reportErrorsAs,
		sslKeyPassword, sslKeystoreLoc, sslKeystoreType, sslKeystoreKey, sslKeystoreChain,
		sslTruststoreLoc, sslTruststoreType, sslTruststoreCerts, sslProtocol, sslEnabledProtocols, sslEndpointID)
	aivenOnly = names(aivenURL, aivenAuthType, aivenAuthorization, aivenContentType, aivenHeaders, aivenTrustAll,
		aivenTruststoreLoc, aivenTruststorePassword, aivenTimeout, aivenTokenURL, aivenClientAuthMode,
		aivenGrantType, aivenGrantTypeProp, aivenClientIDProp, aivenClientSecretProp, aivenTokenProp,
		aivenRenewOn, aivenBatching, aivenKafkaRetry, aivenDecimalFormat)
)

func names(keys ...kit.Declared) map[string]bool {
	m := make(map[string]bool, len(keys))
	for _, k := range keys {
		m[k.Key().Name] = true
	}
	return m
}

// unsupportedTLSKeys are Kafka ssl.* keys Confluent accepts under https.
// that have no Go counterpart; a set one is refused rather than ignored.
var unsupportedTLSKeys = []string{
	"https.ssl.keystore.password", "https.ssl.truststore.password", "https.ssl.cipher.suites",
	"https.ssl.provider", "https.ssl.keymanager.algorithm", "https.ssl.trustmanager.algorithm",
	"https.ssl.secure.random.implementation", "https.ssl.engine.factory.class",
	"reporter.result.topic.replication.factor", "reporter.error.topic.replication.factor",
	"reporter.result.topic.partitions", "reporter.error.topic.partitions",
	"reporter.result.topic.key.format", "reporter.result.topic.value.format",
	"reporter.error.topic.key.format", "reporter.error.topic.value.format",
	"oauth2.jwt.keystore.path", "oauth2.jwt.keystore.password", "oauth2.jwt.keystore.type",
	"oauth2.jwt.claimset", "oauth2.jwt.signature.algorithm",
}
