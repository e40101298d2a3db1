package httpsink

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sluicehq/sluice/runtime/connect"
)

// authenticator sets a request's credentials.
type authenticator interface {
	// apply sets the Authorization header of req, fetching a token if
	// needed.
	apply(ctx context.Context, req *http.Request) error
	// renew forgets a cached token, after the endpoint refused it.
	renew()
}

// staticAuth sends a fixed Authorization value: BASIC, BEARER and Aiven's
// static.
type staticAuth struct{ value string }

func (a staticAuth) apply(_ context.Context, req *http.Request) error {
	req.Header.Set("Authorization", a.value)
	return nil
}
func (staticAuth) renew() {}

// noAuth sends no credentials.
type noAuth struct{}

func (noAuth) apply(context.Context, *http.Request) error { return nil }
func (noAuth) renew()                                     {}

// maxTokenResponse bounds the token endpoint's answer that is read.
const maxTokenResponse = 1 << 20

// oauth2Auth is the client-credentials grant (RFC 6749 §4.4) with a
// cached token refreshed shortly before it expires and on the statuses
// of renewOn. It is written here rather than with golang.org/x/oauth2
// because both connectors let the token field, the form field names and
// the grant type be renamed, which x/oauth2 cannot.
type oauth2Auth struct {
	client       *http.Client
	tokenURL     string
	clientID     string
	clientSecret string
	inHeader     bool   // client authenticates with HTTP Basic, else with form fields
	scope        string // "" sends none
	grantType    string
	grantField   string
	idField      string
	secretField  string
	tokenField   string
	headers      http.Header // extra headers on token requests
	now          func() time.Time

	mu      sync.Mutex
	value   string    // the Authorization header value, "" when none cached
	refresh time.Time // when to fetch a new one; zero means never
}

func (a *oauth2Auth) apply(ctx context.Context, req *http.Request) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.value == "" || (!a.refresh.IsZero() && !a.now().Before(a.refresh)) {
		if err := a.fetchLocked(ctx); err != nil {
			return err
		}
	}
	req.Header.Set("Authorization", a.value)
	return nil
}

func (a *oauth2Auth) renew() {
	a.mu.Lock()
	a.value = ""
	a.mu.Unlock()
}

// fetchLocked asks the token endpoint for a token. A failure is retriable
// when the endpoint was unreachable or answered 5xx or 429.
func (a *oauth2Auth) fetchLocked(ctx context.Context) error {
	form := url.Values{}
	form.Set(a.grantField, a.grantType)
	if a.scope != "" {
		form.Set("scope", a.scope)
	}
	if !a.inHeader {
		form.Set(a.idField, a.clientID)
		form.Set(a.secretField, a.clientSecret)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.tokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return fmt.Errorf("%w: OAuth2 token request to %s: %w", connect.ErrConfig, a.tokenURL, err)
	}
	for k, vs := range a.headers {
		req.Header[k] = vs
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	if a.inHeader {
		// RFC 6749 §2.3.1: id and secret are form-encoded before Basic.
		req.SetBasicAuth(url.QueryEscape(a.clientID), url.QueryEscape(a.clientSecret))
	}
	start := a.now()
	resp, err := a.client.Do(req)
	if err != nil {
		return connect.Retriable(fmt.Errorf("fetch OAuth2 token from %s: %w", a.tokenURL, err))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxTokenResponse))
	if err != nil {
		return connect.Retriable(fmt.Errorf("read OAuth2 token from %s: %w", a.tokenURL, err))
	}
	if resp.StatusCode != http.StatusOK {
		err := fmt.Errorf("fetch OAuth2 token from %s: status %d: %s", a.tokenURL, resp.StatusCode, truncate(body, 512))
		if resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests {
			return connect.Retriable(err)
		}
		return err
	}
	var fields map[string]any
	if err := json.Unmarshal(body, &fields); err != nil {
		return fmt.Errorf("OAuth2 token response from %s is not a JSON object: %w", a.tokenURL, err)
	}
	token, _ := fields[a.tokenField].(string)
	if token == "" {
		return fmt.Errorf("OAuth2 token response from %s has no string field %q (set the token property key to the field holding the token)", a.tokenURL, a.tokenField)
	}
	typ, _ := fields["token_type"].(string)
	if typ == "" || strings.EqualFold(typ, "bearer") {
		typ = "Bearer"
	}
	a.value = typ + " " + token
	a.refresh = time.Time{}
	if life := expiresIn(fields["expires_in"]); life > 0 {
		// Refresh before expiry: a tenth of the lifetime early, at most a
		// minute, so that a request never carries a token about to lapse.
		a.refresh = start.Add(life - min(life/10, time.Minute))
	}
	return nil
}

// expiresIn reads expires_in, a number of seconds that some servers send
// as a string.
func expiresIn(v any) time.Duration {
	switch x := v.(type) {
	case float64:
		return time.Duration(x * float64(time.Second))
	case string:
		if n, err := strconv.ParseFloat(x, 64); err == nil {
			return time.Duration(n * float64(time.Second))
		}
	}
	return 0
}

// newAuth builds the front-end's authenticator.
func newAuth(cfg connect.Config, front frontEnd, client *http.Client, bad func(key, format string, args ...any)) authenticator {
	required := func(key string, v string, why string) {
		if v == "" {
			bad(key, "is required %s", why)
		}
	}
	if front == aiven {
		switch strings.ToLower(orDefault(cfg, aivenAuthType, "none")) {
		case "static":
			v := orDefault(cfg, aivenAuthorization, "")
			required(aivenAuthorization.Name(), v, "with http.authorization.type=static")
			return staticAuth{value: v}
		case "oauth2":
			a := &oauth2Auth{
				client: client, tokenURL: orDefault(cfg, aivenTokenURL, ""),
				clientID: orDefault(cfg, clientID, ""), clientSecret: orDefault(cfg, clientSecret, ""),
				inHeader: strings.EqualFold(aivenClientAuthMode.Get(cfg), "HEADER"),
				scope:    orDefault(cfg, clientScope, ""), grantType: aivenGrantType.Get(cfg),
				grantField: aivenGrantTypeProp.Get(cfg), idField: aivenClientIDProp.Get(cfg),
				secretField: aivenClientSecretProp.Get(cfg), tokenField: aivenTokenProp.Get(cfg),
				headers: http.Header{}, now: time.Now,
			}
			required(aivenTokenURL.Name(), a.tokenURL, "with http.authorization.type=oauth2")
			required(clientID.Name(), a.clientID, "with http.authorization.type=oauth2")
			required(clientSecret.Name(), a.clientSecret, "with http.authorization.type=oauth2")
			return a
		}
		return noAuth{}
	}
	switch strings.ToUpper(authType.Get(cfg)) {
	case "BASIC":
		user := orDefault(cfg, connUser, "")
		required(connUser.Name(), user, "with auth.type=BASIC")
		raw := user + ":" + orDefault(cfg, connPassword, "")
		return staticAuth{value: "Basic " + base64.StdEncoding.EncodeToString([]byte(raw))}
	case "BEARER":
		tok := orDefault(cfg, bearerToken, "")
		required(bearerToken.Name(), tok, "with auth.type=BEARER")
		return staticAuth{value: "Bearer " + tok}
	case "OAUTH2":
		hs, err := parseHeaders(orDefault(cfg, clientHeaders, ""), clientHeaderSep.Get(cfg))
		if err != nil {
			bad(clientHeaders.Name(), "%v", err)
		}
		a := &oauth2Auth{
			client: client, tokenURL: orDefault(cfg, tokenURL, ""),
			clientID: orDefault(cfg, clientID, ""), clientSecret: orDefault(cfg, clientSecret, ""),
			inHeader: strings.EqualFold(clientAuthMode.Get(cfg), "header"),
			scope:    orDefault(cfg, clientScope, "any"), grantType: "client_credentials",
			grantField: "grant_type", idField: "client_id", secretField: "client_secret",
			tokenField: tokenProperty.Get(cfg), headers: hs, now: time.Now,
		}
		required(tokenURL.Name(), a.tokenURL, "with auth.type=OAUTH2")
		required(clientID.Name(), a.clientID, "with auth.type=OAUTH2")
		required(clientSecret.Name(), a.clientSecret, "with auth.type=OAUTH2")
		return a
	}
	return noAuth{}
}
