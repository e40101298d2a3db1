package httpsink

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// tokenServer is a real OAuth2 token endpoint (RFC 6749 §4.4, client
// credentials) built on net/http: mockoidc, the preferred third-party
// server, implements only the authorization-code and refresh grants.
type tokenServer struct {
	*httptest.Server
	mu       sync.Mutex
	issued   []string     // tokens handed out, in order
	forms    []url.Values // the form of each token request
	auths    []string     // the Authorization header of each
	lifetime int          // expires_in, seconds; 0 sends none
	field    string       // the token's field name
}

func startTokenServer(t *testing.T, id, secret string) *tokenServer {
	ts := &tokenServer{field: "access_token"}
	ts.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" || r.ParseForm() != nil {
			http.Error(w, `{"error":"invalid_request"}`, http.StatusBadRequest)
			return
		}
		gotID, gotSecret, basic := r.BasicAuth()
		if basic {
			gotID, _ = url.QueryUnescape(gotID)
			gotSecret, _ = url.QueryUnescape(gotSecret)
		} else {
			gotID, gotSecret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
		}
		ts.mu.Lock()
		defer ts.mu.Unlock()
		ts.forms = append(ts.forms, r.PostForm)
		ts.auths = append(ts.auths, r.Header.Get("Authorization"))
		if gotID != id || gotSecret != secret || r.PostForm.Get("grant_type") != "client_credentials" {
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"error":"invalid_client"}`))
			return
		}
		tok := "tok-" + string(rune('a'+len(ts.issued)))
		ts.issued = append(ts.issued, tok)
		resp := map[string]any{ts.field: tok, "token_type": "bearer"}
		if ts.lifetime > 0 {
			resp["expires_in"] = ts.lifetime
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(resp)
	}))
	t.Cleanup(ts.Close)
	return ts
}

func (ts *tokenServer) count() int {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return len(ts.issued)
}

func TestAuthStatic(t *testing.T) {
	cases := []struct {
		name   string
		config map[string]string
		want   string
	}{
		{"confluent basic", map[string]string{"auth.type": "BASIC", "connection.user": "u", "connection.password": "p:w"},
			"Basic " + base64.StdEncoding.EncodeToString([]byte("u:p:w"))},
		{"bearer", map[string]string{"auth.type": "bearer", "bearer.token": "s3cr3t"}, "Bearer s3cr3t"},
		{"aiven static", map[string]string{"connector.class": AivenClass, "http.authorization.type": "static",
			"http.headers.authorization": "Token abc"}, "Token abc"},
		{"none", map[string]string{}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := startEndpoint(t)
			if c.config["connector.class"] == AivenClass {
				c.config["http.url"] = e.URL
			} else {
				c.config["http.api.url"] = e.URL
			}
			task, _ := startTask(t, c.config)
			_, err := putFlush(t, task, recs("t", "x"))
			require.NoError(t, err)
			require.Len(t, e.requests(), 1)
			assert.Equal(t, c.want, e.requests()[0].Header.Get("Authorization"))
		})
	}
}

// TestOAuth2ClientAuthModes gets a token with the client authenticating
// in the header (HTTP Basic) and in the form, on both front-ends.
func TestOAuth2ClientAuthModes(t *testing.T) {
	cases := []struct {
		name     string
		config   map[string]string
		inHeader bool
		scope    string
	}{
		{"confluent header", map[string]string{"auth.type": "OAUTH2", "oauth2.client.auth.mode": "header"}, true, "any"},
		{"confluent url", map[string]string{"auth.type": "OAUTH2", "oauth2.client.auth.mode": "url", "oauth2.client.scope": "write"}, false, "write"},
		{"aiven header", map[string]string{"connector.class": AivenClass, "http.authorization.type": "oauth2"}, true, ""},
		{"aiven url", map[string]string{"connector.class": AivenClass, "http.authorization.type": "oauth2",
			"oauth2.client.authorization.mode": "URL", "oauth2.client.scope": "a b"}, false, "a b"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ts := startTokenServer(t, "id+1", "se:cret")
			e := startEndpoint(t)
			c.config["oauth2.client.id"], c.config["oauth2.client.secret"] = "id+1", "se:cret"
			if c.config["connector.class"] == AivenClass {
				c.config["http.url"], c.config["oauth2.access.token.url"] = e.URL, ts.URL
			} else {
				c.config["http.api.url"], c.config["oauth2.token.url"] = e.URL, ts.URL
			}
			task, _ := startTask(t, c.config)
			_, err := putFlush(t, task, recs("t", "x", "y"))
			require.NoError(t, err)
			require.Equal(t, 1, ts.count(), "one token for both requests: cached")
			for _, r := range e.requests() {
				assert.Equal(t, "Bearer tok-a", r.Header.Get("Authorization"))
			}
			assert.Equal(t, c.inHeader, strings.HasPrefix(ts.auths[0], "Basic "))
			assert.Equal(t, !c.inHeader, ts.forms[0].Has("client_secret"))
			assert.Equal(t, c.scope, ts.forms[0].Get("scope"))
		})
	}
}

// TestOAuth2CustomTokenProperty reads the token from a renamed field,
// which golang.org/x/oauth2 cannot.
func TestOAuth2CustomTokenProperty(t *testing.T) {
	ts := startTokenServer(t, "id", "secret")
	ts.field = "jwt"
	e := startEndpoint(t)
	task, _ := startTask(t, map[string]string{"http.api.url": e.URL, "auth.type": "OAUTH2", "oauth2.token.url": ts.URL,
		"oauth2.client.id": "id", "oauth2.client.secret": "secret", "oauth2.token.property": "jwt"})
	_, err := putFlush(t, task, recs("t", "x"))
	require.NoError(t, err)
	assert.Equal(t, "Bearer tok-a", e.requests()[0].Header.Get("Authorization"))
}

// TestOAuth2RefreshBeforeExpiry fetches a new token once the cached one
// is about to expire, before any request is refused.
func TestOAuth2RefreshBeforeExpiry(t *testing.T) {
	ts := startTokenServer(t, "id", "secret")
	ts.lifetime = 100
	e := startEndpoint(t)
	task, _ := startTask(t, map[string]string{"http.api.url": e.URL, "auth.type": "OAUTH2", "oauth2.token.url": ts.URL,
		"oauth2.client.id": "id", "oauth2.client.secret": "secret"})
	clock := time.Now()
	auth := task.eng.auth.(*oauth2Auth)
	auth.now = func() time.Time { return clock }
	_, err := putFlush(t, task, recs("t", "x"))
	require.NoError(t, err)
	clock = clock.Add(89 * time.Second) // before the refresh point (90s: 10% early)
	_, err = putFlush(t, task, recs("t", "y"))
	require.NoError(t, err)
	clock = clock.Add(2 * time.Second) // past it, the token not yet expired
	_, err = putFlush(t, task, recs("t", "z"))
	require.NoError(t, err)
	got := e.requests()
	require.Len(t, got, 3)
	assert.Equal(t, "Bearer tok-a", got[0].Header.Get("Authorization"))
	assert.Equal(t, "Bearer tok-a", got[1].Header.Get("Authorization"))
	assert.Equal(t, "Bearer tok-b", got[2].Header.Get("Authorization"))
}

// TestOAuth2RenewOn401 fetches a new token when the endpoint refuses the
// cached one, and sends the request again with it.
func TestOAuth2RenewOn401(t *testing.T) {
	for _, class := range []string{Class, AivenClass} {
		t.Run(class, func(t *testing.T) {
			ts := startTokenServer(t, "id", "secret")
			e := startEndpoint(t)
			e.setRespond(func(_ int, c captured) (int, http.Header, string) {
				if c.Header.Get("Authorization") == "Bearer tok-a" {
					return http.StatusUnauthorized, nil, "expired"
				}
				return http.StatusOK, nil, ""
			})
			config := map[string]string{"connector.class": class, "oauth2.client.id": "id", "oauth2.client.secret": "secret", "retry.backoff.ms": "0"}
			if class == AivenClass {
				config["http.url"], config["oauth2.access.token.url"], config["http.authorization.type"] = e.URL, ts.URL, "oauth2"
			} else {
				config["http.api.url"], config["oauth2.token.url"], config["auth.type"] = e.URL, ts.URL, "OAUTH2"
			}
			task, _ := startTask(t, config)
			_, err := putFlush(t, task, recs("t", "x"))
			require.NoError(t, err)
			got := e.requests()
			require.Len(t, got, 2)
			assert.Equal(t, "Bearer tok-b", got[1].Header.Get("Authorization"))
			assert.Equal(t, 2, ts.count())
		})
	}
}

// TestOAuth2BadClientFails names the token endpoint's refusal.
func TestOAuth2BadClientFails(t *testing.T) {
	ts := startTokenServer(t, "id", "secret")
	e := startEndpoint(t)
	task, _ := startTask(t, map[string]string{"http.api.url": e.URL, "auth.type": "OAUTH2", "oauth2.token.url": ts.URL,
		"oauth2.client.id": "id", "oauth2.client.secret": "wrong", "max.retries": "0"})
	err := task.Put(context.Background(), recs("t", "x"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "status 401")
	assert.Empty(t, e.requests())
}
