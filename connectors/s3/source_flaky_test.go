package s3

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/internal/connecttest"
	"github.com/sluicehq/sluice/runtime/connect"
)

// srcCutting is gofakes3 behind a handler that cuts the body of the
// successful GETs of objects whose numbers (from 1) are in cut: it sends the headers and
// half the bytes, then drops the connection.
func srcCutting(t *testing.T, cut map[int]bool) *srcServer {
	t.Helper()
	backend := s3mem.New()
	require.NoError(t, backend.CreateBucket(srcBucket))
	inner := gofakes3.New(backend).Server()
	var mu sync.Mutex
	n := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		isGet := r.Method == http.MethodGet && strings.Count(strings.Trim(r.URL.Path, "/"), "/") >= 1
		if !isGet {
			inner.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		inner.ServeHTTP(rec, r)
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		body := rec.Body.Bytes()
		mu.Lock()
		if rec.Code/100 == 2 {
			n++
		}
		cutThis := rec.Code/100 == 2 && cut[n]
		mu.Unlock()
		if !cutThis {
			w.WriteHeader(rec.Code)
			_, _ = w.Write(body)
			return
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(rec.Code)
		_, _ = w.Write(body[:len(body)/2])
		w.(http.Flusher).Flush()
		panic(http.ErrAbortHandler)
	}))
	t.Cleanup(srv.Close)
	c := s3.New(s3.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(srv.URL), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider("AKIAEXAMPLE", "secret", ""),
		HTTPClient:  &http.Client{Transport: &http.Transport{DisableKeepAlives: true}},
	})
	return &srcServer{url: srv.URL, c: c}
}

// pollThrough polls until n records came, as the worker does: a retriable
// error is retried, any other fails the test. It returns the records and
// how many retriable errors it met.
func pollThrough(t *testing.T, task *sourceTask, n int) ([]*connect.Record, int) {
	t.Helper()
	var out []*connect.Record
	retried := 0
	deadline := time.Now().Add(10 * time.Second)
	for len(out) < n {
		require.True(t, time.Now().Before(deadline), "got %d records of %d within 10s", len(out), n)
		recs, err := task.Poll(context.Background())
		if err != nil {
			require.True(t, errors.Is(err, connect.ErrRetriable), "a cut read must be retriable: %v", err)
			retried++
			continue
		}
		out = append(out, recs...)
	}
	require.Len(t, out, n)
	return out, retried
}

// TestRestoreCutReadResumesAtTheNextRecord: a connection cut while
// reading an object is a retriable error, and the next poll reopens the
// object at the next record: no record lost, none twice, none truncated.
func TestRestoreCutReadResumesAtTheNextRecord(t *testing.T) {
	for _, backupFormat := range []string{JSONFormatClass, ByteArrayFormatClass} {
		t.Run(backupFormat[strings.LastIndex(backupFormat, ".")+1:], func(t *testing.T) {
			srv := srcCutting(t, map[int]bool{1: true, 2: true})
			var ls []string
			for i := range 40 {
				ls = append(ls, strconv.Itoa(i*i*31)) // lengths vary: the cut falls inside a record
			}
			ext := ".json"
			if backupFormat == ByteArrayFormatClass {
				ext = ".bin"
			}
			srv.put(t, "topics/t/partition=0/t+0+0000000000"+ext, jsonLines(ls...))
			cfg := srv.config(backupFormat)
			cfg["s3.part.retries"] = "0"
			task := srcStart(t, cfg, connecttest.NewSourceContext(t, cfg))
			recs, retried := pollThrough(t, task, 40)
			assert.Equal(t, 2, retried)
			for i, r := range recs {
				want := any(int64(i * i * 31))
				if backupFormat == ByteArrayFormatClass {
					want = []byte(strconv.Itoa(i * i * 31))
				}
				require.Equal(t, want, r.Value, "record %d", i)
				require.Equal(t, int64(i+1), r.SourceOffset["index"])
			}
		})
	}
}

// TestGenericCutReadResumesAtTheNextRecord is the same for GENERIC mode,
// whose offsets are byte positions.
func TestGenericCutReadResumesAtTheNextRecord(t *testing.T) {
	srv := srcCutting(t, map[int]bool{1: true, 2: true})
	var ls []string
	for i := range 40 {
		ls = append(ls, "line-"+strconv.Itoa(i))
	}
	srv.put(t, "logs/a.log", jsonLines(ls...))
	cfg := genericConfig(srv)
	cfg["s3.part.retries"] = "0"
	task := srcStart(t, cfg, connecttest.NewSourceContext(t, cfg))
	recs, retried := pollThrough(t, task, 40)
	assert.Equal(t, 2, retried)
	for i, r := range recs {
		require.Equal(t, []byte("line-"+strconv.Itoa(i)), r.Value, "record %d", i)
	}
}
