package schemaconv

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/sr"

	"github.com/sluicehq/sluice/runtime/connect"
)

// requestTimeout bounds each registry call; Converter's methods take no
// context.
const requestTimeout = 30 * time.Second

// registry is a schema registry client with ids cached both ways: by
// (subject, schema text) for writing and by id for reading.
type registry struct {
	cl *sr.Client

	mu          sync.RWMutex
	ids         map[subjectSchema]int
	texts       map[int]string
	latestIDs   map[string]int // subject → id, for use.latest.version; never expires, as Confluent's default latest.cache.ttl.sec=-1
	refs        map[int][]sr.SchemaReference
	contracts   map[int]*contract
	latestMDIDs map[string]int // subject → id, for use.latest.with.metadata; never expires, as latestIDs
}

type subjectSchema struct{ subject, text string }

func newRegistry(urls []string, authSource, userInfo string) (*registry, error) {
	opts := []sr.ClientOpt{sr.URLs(urls...), sr.PreReq(addMetadataQuery)}
	if authSource == "USER_INFO" || (authSource == "" && userInfo != "") {
		user, pass, ok := strings.Cut(userInfo, ":")
		if !ok {
			return nil, fmt.Errorf("%s must be user:password", BasicAuthUserInfoConfig)
		}
		opts = append(opts, sr.BasicAuth(user, pass))
	}
	cl, err := sr.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("create schema registry client for %s: %w", strings.Join(urls, ","), err)
	}
	return &registry{cl: cl, ids: map[subjectSchema]int{}, texts: map[int]string{}, latestIDs: map[string]int{},
		refs: map[int][]sr.SchemaReference{}, contracts: map[int]*contract{}, latestMDIDs: map[string]int{}}, nil
}

func (r *registry) cache(subject, text string, id int) {
	r.mu.Lock()
	if len(r.ids) >= maxCached {
		clear(r.ids)
	}
	if len(r.texts) >= maxCached {
		clear(r.texts)
	}
	if subject != "" {
		r.ids[subjectSchema{subject, text}] = id
	}
	r.texts[id] = text
	if _, known := r.refs[id]; !known {
		r.keepRefsLocked(id, nil) // until a fetch says otherwise: the converter's own schemas have none
	}
	r.mu.Unlock()
}

// id returns the id of s under subject, registering it when register is
// set and looking it up otherwise.
func (r *registry) id(subject string, s sr.Schema, register bool) (int, error) {
	r.mu.RLock()
	id, ok := r.ids[subjectSchema{subject, s.Schema}]
	r.mu.RUnlock()
	if ok {
		return id, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	var got sr.SubjectSchema
	var err error
	if register {
		got, err = r.cl.CreateSchema(ctx, subject, s)
	} else {
		got, err = r.cl.LookupSchema(ctx, subject, s)
	}
	if err != nil {
		return 0, r.refused(ctx, subject, s, register, err)
	}
	r.cache(subject, s.Schema, got.ID)
	return got.ID, nil
}

// refused turns a registry error into the converter's: an incompatible
// schema names the subject, its compatibility level and the registry's
// reasons; anything else a data error (a registry outage is worth a
// retry).
func (r *registry) refused(ctx context.Context, subject string, s sr.Schema, register bool, err error) error {
	verb := "register"
	if !register {
		verb = "look up"
	}
	var re *sr.ResponseError
	if !errors.As(err, &re) || re.StatusCode >= 500 {
		return connect.Retriable(dataErrCause(err, "%s schema under subject %s", verb, subject))
	}
	if re.StatusCode != http.StatusConflict {
		return dataErrCause(err, "%s schema under subject %s", verb, subject)
	}
	level := "unknown"
	if res := r.cl.Compatibility(sr.WithParams(ctx, sr.DefaultToGlobal), subject); len(res) == 1 && res[0].Err == nil {
		level = res[0].Level.String()
	}
	reasons := []string{re.Message}
	if check, cerr := r.cl.CheckCompatibility(sr.WithParams(ctx, sr.Verbose), subject, -2, s); cerr == nil && len(check.Messages) > 0 {
		reasons = check.Messages
	}
	return fmt.Errorf("%w: %w: the registry refused the schema for subject %s under compatibility level %s: %s",
		connect.ErrData, ErrIncompatible, subject, level, strings.Join(reasons, "; "))
}

// latest returns the id and text of subject's latest version, fetched
// once per subject.
func (r *registry) latest(subject string, typ sr.SchemaType) (int, string, error) {
	r.mu.RLock()
	id, ok := r.latestIDs[subject]
	text := r.texts[id]
	r.mu.RUnlock()
	if ok && text != "" {
		return id, text, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	got, err := r.cl.SchemaByVersion(ctx, subject, -1)
	if err != nil {
		return 0, "", dataErrCause(err, "get the latest schema of subject %s", subject)
	}
	if got.Type != typ {
		return 0, "", dataErr("the latest schema of subject %s is %s, not %s", subject, got.Type, typ)
	}
	r.cache("", got.Schema.Schema, got.ID)
	r.mu.Lock()
	r.latestIDs[subject] = got.ID
	r.keepRefsLocked(got.ID, got.References)
	r.mu.Unlock()
	return got.ID, got.Schema.Schema, nil
}

// schemaText returns the text of schema id.
func (r *registry) schemaText(id int) (string, error) {
	r.mu.RLock()
	text, ok := r.texts[id]
	r.mu.RUnlock()
	if ok {
		return text, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	s, err := r.cl.SchemaByID(ctx, id)
	if err != nil {
		return "", dataErrCause(err, "get schema id %d", id)
	}
	r.cache("", s.Schema, id)
	r.mu.Lock()
	r.keepRefsLocked(id, s.References)
	r.mu.Unlock()
	return s.Schema, nil
}

// keepRefsLocked records the references of schema id (none included, so
// that an absent entry means not known).
func (r *registry) keepRefsLocked(id int, refs []sr.SchemaReference) {
	if len(r.refs) >= maxCached {
		clear(r.refs)
	}
	r.refs[id] = refs
}

// references returns the texts of the schemas schema id references (and
// those they reference), by reference name: for Protobuf, the import
// paths.
func (r *registry) references(id int) (map[string]string, error) {
	r.mu.RLock()
	refs, known := r.refs[id]
	r.mu.RUnlock()
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	if !known {
		s, err := r.cl.SchemaByID(ctx, id)
		if err != nil {
			return nil, dataErrCause(err, "get schema id %d", id)
		}
		refs = s.References
		r.mu.Lock()
		r.keepRefsLocked(id, refs)
		r.mu.Unlock()
	}
	if len(refs) == 0 {
		return nil, nil
	}
	out := map[string]string{}
	for len(refs) > 0 {
		ref := refs[0]
		refs = refs[1:]
		if _, done := out[ref.Name]; done {
			continue
		}
		got, err := r.cl.SchemaByVersion(ctx, ref.Subject, ref.Version)
		if err != nil {
			return nil, dataErrCause(err, "get schema %s (subject %s version %d) referenced by schema id %d", ref.Name, ref.Subject, ref.Version, id)
		}
		out[ref.Name] = got.Schema.Schema
		refs = append(refs, got.References...)
	}
	return out, nil
}
