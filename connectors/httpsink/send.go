package httpsink

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/sluicehq/sluice/connectors/kit"
	"github.com/sluicehq/sluice/runtime/connect"
)

// maxRetryAfter bounds the wait a Retry-After header can ask for, so a
// server cannot park the task for a day.
const maxRetryAfter = 10 * time.Minute

// maxDrain bounds how much of a response body is read to reuse the
// connection; the rest is dropped with the connection.
const maxDrain = 1 << 20

// engine sends requests with the settings' retries and authentication.
type engine struct {
	s      *settings
	client *http.Client
	auth   authenticator
	log    *slog.Logger
	now    func() time.Time
}

// send sends one request, retrying per the settings, and returns nil once
// it got a success status, or a *RequestError.
func (e *engine) send(ctx context.Context, method, target string, body []byte) error {
	shown := redactURL(target)
	renewed := false
	for attempt := 0; ; attempt++ {
		status, respBody, retryAfter, err := e.once(ctx, method, target, body)
		if err == nil && e.s.success(status) {
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("%s %s: %w", method, shown, ctx.Err())
		}
		fail := &RequestError{Method: method, URL: shown, Status: status, Body: respBody, Attempts: attempt + 1, Err: err}
		if err != nil && !kit.IsRetriable(err) {
			return fail
		}
		if err == nil && e.s.renewOn[status] && !renewed {
			// The token was refused: fetch a new one and try again at
			// once; this uses one retry (as Aiven's connector counts it).
			e.auth.renew()
			renewed = true
			if attempt < e.s.maxRetries {
				e.log.Warn("HTTP sink request refused the token, renewing it", "method", method, "url", shown, "status", status)
				continue
			}
		}
		if err == nil && !e.s.retryable(status) {
			return fail
		}
		if attempt >= e.s.maxRetries {
			return fail
		}
		wait := e.s.backoff.Delay(attempt)
		if retryAfter > wait {
			wait = min(retryAfter, maxRetryAfter)
		}
		e.log.Warn("HTTP sink request failed, retrying", "method", method, "url", shown,
			"status", status, "error", fail.Error(), "attempt", attempt+1, "retry_in", wait)
		if err := kit.Sleep(ctx, wait); err != nil {
			return fmt.Errorf("%s %s: retries stopped: %w", method, shown, err)
		}
	}
}

// once sends the request one time. It returns the status, the start of
// the body of an unsuccessful answer, the wait a Retry-After header on a
// 429 or 503 asks for, or the error that kept an answer from coming.
func (e *engine) once(ctx context.Context, method, target string, body []byte) (int, []byte, time.Duration, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, target, rd)
	if err != nil {
		return 0, nil, 0, fmt.Errorf("%w: build request %s %s: %w", connect.ErrData, method, redactURL(target), err)
	}
	for k, vs := range e.s.headers {
		req.Header[k] = vs
	}
	if err := e.auth.apply(ctx, req); err != nil {
		return 0, nil, 0, err
	}
	resp, err := e.client.Do(req)
	if err != nil {
		return 0, nil, 0, err
	}
	defer resp.Body.Close()
	var kept []byte
	if !e.s.success(resp.StatusCode) {
		kept, _ = io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxDrain))
	var ra time.Duration
	if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable {
		ra = retryAfter(resp.Header.Get("Retry-After"), e.now())
	}
	return resp.StatusCode, kept, ra, nil
}

// retryAfter reads a Retry-After value: seconds, or an HTTP date.
func retryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(v); err == nil {
		if n < 0 {
			return 0
		}
		return time.Duration(min(n, int(maxRetryAfter/time.Second))) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0)
	}
	return 0
}

// redactURL drops the query and credentials of a URL for messages, as
// either may hold secrets.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparseable URL)"
	}
	u.RawQuery, u.User, u.Fragment = "", nil, ""
	return u.String()
}

// isRequestError reports whether err is a request that failed for good.
func isRequestError(err error) bool {
	var re *RequestError
	return errors.As(err, &re)
}
