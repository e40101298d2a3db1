package registry

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/internal/testenv"
)

// rawRequest opens a TCP connection to the registry and writes raw bytes
// (headers and as much of a body as the test wants to send).
func rawRequest(t *testing.T, in *instance, raw string) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(in.url, "http://"))
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	_, err = io.WriteString(conn, raw)
	require.NoError(t, err)
	return conn
}

// readAnswer reads one HTTP response from conn, failing if none comes
// within wait.
func readAnswer(t *testing.T, conn net.Conn, wait time.Duration) (int, string) {
	t.Helper()
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(wait)))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	require.NoError(t, err, "no answer within %v", wait)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b)
}

// TestBodyLimit: a body over the limit is refused with 413 — at once
// when Content-Length announces it (the 200 MiB body is never sent, so an
// answer proves it was not read), and when a chunked body passes the
// limit while being read, also on the forwarding path's decoder.
func TestBodyLimit(t *testing.T) {
	broker := testenv.StartBroker(t, nil)
	in, _ := startWith(t, Options{ClientOpts: []kgo.Opt{kgo.SeedBrokers(broker.Addr)}, MaxRequestBodyBytes: 1024})

	conn := rawRequest(t, in, "POST /subjects/s/versions HTTP/1.1\r\nHost: x\r\n"+
		"Content-Type: application/vnd.schemaregistry.v1+json\r\nContent-Length: 209715200\r\n\r\n{\"schema\":\"")
	status, body := readAnswer(t, conn, 5*time.Second)
	assert.Equal(t, 413, status, body)
	assert.JSONEq(t, `{"error_code":413,"message":"Request body is too large: 209715200>1024"}`, body)

	big := fmt.Sprintf(`{"schema":%q}`, `{"type":"record","name":"R","doc":"`+strings.Repeat("x", 2000)+`","fields":[]}`)
	req, err := http.NewRequest("POST", in.url+"/subjects/s/versions", io.MultiReader(strings.NewReader(big))) // no length: chunked
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, 413, resp.StatusCode, string(b))
	assert.Equal(t, 413, errorCode(t, string(b)))
	assert.Contains(t, string(b), "more than 1024 bytes")

	status, body = in.call(t, "POST", "/subjects/s/versions", schemaBody(userV1))
	assert.Equal(t, 200, status, "a body under the limit is served: %s", body)
}

// TestInvalidSubjects: registering under an empty subject, one with
// control characters, a reserved name or bytes that are not UTF-8 is
// refused with Confluent's 42208; so is a config or mode for such a
// subject (where the empty subject is the global scope).
func TestInvalidSubjects(t *testing.T) {
	in := startRegistry(t, testenv.StartBroker(t, nil), "")
	body := schemaBody(userV1)
	runSteps(t, in, []step{
		{"empty", "POST", "/subjects//versions", body, 422, "", codeInvalidSubject},
		{"control characters", "POST", "/subjects/%0Dbad%0Asubject%09/versions", body, 422, "", codeInvalidSubject},
		{"DEL", "POST", "/subjects/a%7F/versions", body, 422, "", codeInvalidSubject},
		{"C1 control", "POST", "/subjects/a%C2%85/versions", body, 422, "", codeInvalidSubject},
		{"reserved __GLOBAL", "POST", "/subjects/__GLOBAL/versions", body, 422, "", codeInvalidSubject},
		{"reserved __EMPTY", "POST", "/subjects/__EMPTY/versions", body, 422, "", codeInvalidSubject},
		{"not UTF-8", "POST", "/subjects/a%FF/versions", body, 422, "", codeInvalidSubject},
		{"config for a control character", "PUT", "/config/a%0A", map[string]string{"compatibility": "NONE"}, 422, "", codeInvalidSubject},
		{"mode for __GLOBAL", "PUT", "/mode/__GLOBAL", map[string]string{"mode": "READONLY"}, 422, "", codeInvalidSubject},
		{"global config untouched", "GET", "/config", nil, 200, `{"compatibilityLevel":"BACKWARD"}`, 0},
		{"nothing registered", "GET", "/subjects", nil, 200, `[]`, 0},
		{"a space is a subject, as in Confluent", "POST", "/subjects/%20/versions", body, 200, `{"id":1}`, 0},
		{"so is a wildcard", "POST", "/subjects/*/versions", body, 200, `{"id":1}`, 0},
	})
	status, msg := in.call(t, "POST", "/subjects/%0Dbad/versions", body)
	require.Equal(t, 422, status)
	assert.JSONEq(t, `{"error_code":42208,"message":"The specified subject '\rbad' is not a valid."}`, msg)
}

// TestSlowClientsAreCut: a client that stops sending its body, or leaves
// a keep-alive connection idle, loses the connection after IdleTimeout;
// an oversized header block is refused.
func TestSlowClientsAreCut(t *testing.T) {
	broker := testenv.StartBroker(t, nil)
	in, _ := startWith(t, Options{ClientOpts: []kgo.Opt{kgo.SeedBrokers(broker.Addr)}, IdleTimeout: 300 * time.Millisecond})

	closedWithin := func(conn net.Conn, wait time.Duration) {
		t.Helper()
		start := time.Now()
		require.NoError(t, conn.SetReadDeadline(time.Now().Add(wait)))
		_, err := io.Copy(io.Discard, conn) // returns at EOF: the server closed it
		require.NoError(t, err, "connection still open after %v", time.Since(start))
	}
	slowBody := rawRequest(t, in, "POST /subjects/s/versions HTTP/1.1\r\nHost: x\r\n"+
		"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"sch")
	closedWithin(slowBody, 5*time.Second)

	idle := rawRequest(t, in, "GET /subjects HTTP/1.1\r\nHost: x\r\n\r\n")
	status, _ := readAnswer(t, idle, 5*time.Second)
	require.Equal(t, 200, status)
	closedWithin(idle, 5*time.Second)

	huge := rawRequest(t, in, "GET /subjects HTTP/1.1\r\nHost: x\r\nX-Big: "+strings.Repeat("a", 100<<10)+"\r\n\r\n")
	status, _ = readAnswer(t, huge, 5*time.Second)
	assert.Equal(t, http.StatusRequestHeaderFieldsTooLarge, status)
}

// TestSchemaTooLarge: a schema under the body limit but larger than the
// topic takes is refused with Confluent's 42209, not a store error.
func TestSchemaTooLarge(t *testing.T) {
	in := startRegistry(t, testenv.StartBroker(t, nil), "")
	huge := `{"type":"record","name":"R","doc":"` + strings.Repeat("x", 2<<20) + `","fields":[]}`
	status, body := in.call(t, "POST", "/subjects/s/versions", schemaBody(huge))
	require.Equal(t, 422, status, body)
	assert.JSONEq(t, `{"error_code":42209,"message":"Register operation failed because schema is too large"}`, body)
	status, body = in.call(t, "POST", "/subjects/s/versions", schemaBody(userV1))
	assert.Equal(t, 200, status, "the registry writes on: %s", body)
}

// TestConnectionsAreBounded: connections past MaxConnections wait until
// one closes, so silent clients cannot take every file descriptor.
func TestConnectionsAreBounded(t *testing.T) {
	broker := testenv.StartBroker(t, nil)
	in, _ := startWith(t, Options{ClientOpts: []kgo.Opt{kgo.SeedBrokers(broker.Addr)}, MaxConnections: 2})
	first := rawRequest(t, in, "")
	rawRequest(t, in, "")
	client := &http.Client{Timeout: 300 * time.Millisecond}
	_, err := client.Get(in.url + "/subjects")
	require.Error(t, err, "a third connection is not served while two are open")

	first.Close()
	require.Eventually(t, func() bool {
		resp, err := client.Get(in.url + "/subjects")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, 5*time.Second, 10*time.Millisecond)
}
