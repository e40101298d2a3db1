package schemaconv

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/twmb/franz-go/pkg/sr"

	"github.com/sluicehq/sluice/runtime/connect"
	"github.com/sluicehq/sluice/runtime/convert/rules"
)

// contract is a schema version's data contract: its metadata and rule set
// as the registry serves them (Confluent's JSON). A schema without either
// has a contract with both nil; the pointers stay the same for one id, as
// rules.Executor's tag cache wants.
type contract struct {
	md *rules.Metadata
	rs *rules.RuleSet
}

// hasRules reports whether Execute has anything to run.
func (c *contract) hasRules() bool {
	return c != nil && c.rs != nil && (len(c.rs.DomainRules) > 0 || len(c.rs.MigrationRules) > 0)
}

// schemaBody is the part of the registry's schema responses (GET
// /schemas/ids/{id}, /subjects/{s}/versions/{v}, /subjects/{s}/metadata)
// the converters read.
type schemaBody struct {
	ID         int              `json:"id"`
	SchemaType string           `json:"schemaType"`
	Schema     string           `json:"schema"`
	Metadata   *rules.Metadata  `json:"metadata"`
	RuleSet    *rules.RuleSet   `json:"ruleSet"`
	References []schemaRefField `json:"references"`
}

type schemaRefField struct {
	Name    string `json:"name"`
	Subject string `json:"subject"`
	Version int    `json:"version"`
}

func (b *schemaBody) srReferences() []sr.SchemaReference {
	out := make([]sr.SchemaReference, len(b.References))
	for i, ref := range b.References {
		out[i] = sr.SchemaReference(ref)
	}
	return out
}

// sharedExecutor runs the rules of every converter of the process, so
// that they share compiled expressions.
var sharedExecutor = sync.OnceValues(func() (*rules.Executor, error) {
	return rules.NewExecutor(rules.Options{})
})

// metadataQueryKey carries use.latest.with.metadata's pairs to the
// client's request hook: franz-go's client has no free query parameters.
type metadataQueryKey struct{}

// addMetadataQuery is the registry client's request hook: it adds the
// key=…&value=… pairs of a latest-with-metadata lookup.
func addMetadataQuery(req *http.Request) error {
	pairs, ok := req.Context().Value(metadataQueryKey{}).(map[string]string)
	if !ok {
		return nil
	}
	q := req.URL.Query()
	for _, k := range sortedKeys(pairs) {
		q.Add("key", k)
		q.Add("value", pairs[k])
	}
	req.URL.RawQuery = q.Encode()
	return nil
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// contractOf returns the contract of schema id, fetched once.
func (r *registry) contractOf(id int) (*contract, error) {
	r.mu.RLock()
	c, ok := r.contracts[id]
	r.mu.RUnlock()
	if ok {
		return c, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	var body schemaBody
	if err := r.cl.Do(ctx, http.MethodGet, "/schemas/ids/"+strconv.Itoa(id), nil, &body); err != nil {
		return nil, fetchErr(err, "get the data contract of schema id %d", id)
	}
	return r.keepContract(id, &body), nil
}

// keepContract caches the contract of a fetched schema (the first one
// kept for an id wins, so that its pointers stay stable).
func (r *registry) keepContract(id int, body *schemaBody) *contract {
	r.mu.Lock()
	defer r.mu.Unlock()
	if c, ok := r.contracts[id]; ok {
		return c
	}
	if len(r.contracts) >= maxCached {
		clear(r.contracts)
	}
	c := &contract{md: body.Metadata, rs: body.RuleSet}
	if c.md == nil {
		// One pointer per schema id: the rules' tag cache keys on it, and
		// schemas without metadata may tag other fields inline.
		c.md = &rules.Metadata{}
	}
	r.contracts[id] = c
	return c
}

// latestWithMetadata returns the id and text of the latest version of
// subject whose metadata properties include every pair of want
// (use.latest.with.metadata: GET /subjects/{s}/metadata), fetched once per
// subject.
func (r *registry) latestWithMetadata(subject string, want map[string]string, typ string) (int, string, error) {
	r.mu.RLock()
	id, ok := r.latestMDIDs[subject]
	text := r.texts[id]
	r.mu.RUnlock()
	if ok && text != "" {
		return id, text, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	ctx = context.WithValue(ctx, metadataQueryKey{}, want)
	var body schemaBody
	if err := r.cl.Do(ctx, http.MethodGet, "/subjects/"+url.PathEscape(subject)+"/metadata", nil, &body); err != nil {
		return 0, "", fetchErr(err, "get the latest schema of subject %s with metadata %s", subject, formatPairs(want))
	}
	got := body.SchemaType
	if got == "" {
		got = "AVRO"
	}
	if got != typ {
		return 0, "", dataErr("the latest schema of subject %s with metadata %s is %s, not %s", subject, formatPairs(want), got, typ)
	}
	r.cache("", body.Schema, body.ID)
	r.keepContract(body.ID, &body)
	r.mu.Lock()
	r.latestMDIDs[subject] = body.ID
	r.keepRefsLocked(body.ID, body.srReferences())
	r.mu.Unlock()
	return body.ID, body.Schema, nil
}

// fetchErr is a data error, retriable when the registry could not answer
// (unreachable, or a 5xx).
func fetchErr(err error, format string, args ...any) error {
	var re *sr.ResponseError
	if !errors.As(err, &re) || re.StatusCode >= 500 {
		return connect.Retriable(dataErrCause(err, format, args...))
	}
	return dataErrCause(err, format, args...)
}

func formatPairs(m map[string]string) string {
	parts := make([]string, 0, len(m))
	for _, k := range sortedKeys(m) {
		parts = append(parts, k+"="+m[k])
	}
	return "{" + strings.Join(parts, ",") + "}"
}

// parsePairs parses use.latest.with.metadata: "k1=v1,k2=v2".
func parsePairs(s string) (map[string]string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	out := map[string]string{}
	for part := range strings.SplitSeq(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok || strings.TrimSpace(k) == "" {
			return nil, fmt.Errorf("%s: %q is not key=value", UseLatestWithMetadataConfig, part)
		}
		out[strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	return out, nil
}

// fieldNames is how the rule engine spells a field's full name for a
// format: JSON paths for JSON Schema, record names otherwise.
func fieldNames(f format) rules.FieldNames {
	if f.schemaType().String() == "JSON" {
		return rules.JSONPathFieldNames
	}
	return rules.RecordFieldNames
}

// runRules executes the domain rules of the schema's contract on value in
// mode. A failing rule with action ERROR or DLQ fails the record with a
// data error that wraps the *rules.RuleError (so the worker's
// errors.tolerance and DLQ path report it, naming the rule and its
// expression).
//
// Action DLQ: Confluent's serializer produces the record to the rule's
// dlq.topic itself. A Connect converter has no producer of its own, so
// here the record fails like ERROR, wrapping the *rules.RuleError whose
// Action is DLQ: with errors.tolerance=all and
// errors.deadletterqueue.topic.name set, the worker's dead letter queue
// receives it (with the rule in __connect.errors.exception.message);
// without them the task fails, its error naming the rule. The rule's
// dlq.topic is not written to.
func (c *Converter) runRules(mode rules.Mode, ct *contract, topic, subject string, headers connect.Headers,
	cd codec, s *connect.Schema, value any) (any, error) {
	if !ct.hasRules() {
		return value, nil
	}
	rec := rules.RecordInfo{Topic: topic, Subject: subject, IsKey: c.isKey, Headers: headers, FieldNames: fieldNames(c.fmt)}
	if rn, ok := cd.(ruleRecordNamer); ok {
		rec.RecordName = rn.ruleRecordNames(s)
	}
	if ft, ok := cd.(ruleFieldTagger); ok {
		rec.FieldTags = ft.ruleFieldTags(s)
	}
	out, err := c.exec.Execute(context.Background(), mode, ct.rs, ct.md, s, value, rec)
	if err != nil {
		var re *rules.RuleError
		if errors.As(err, &re) && re.Action == rules.ActionDLQ {
			return nil, dataErrCause(err, "%s rules of subject %s on topic %s (action DLQ: the record goes to the connector's "+
				"dead letter queue, errors.tolerance=all with errors.deadletterqueue.topic.name, not to the rule's dlq.topic)",
				mode, subject, topic)
		}
		return nil, dataErrCause(err, "%s rules of subject %s on topic %s", mode, subject, topic)
	}
	return out, nil
}

// checkMigration refuses a reader whose target schema has migration
// rules: they would run between the writer's and the reader's versions
// (UPGRADE/DOWNGRADE across compatibility groups), and Sluice does not
// execute JSONata.
func checkMigration(ct *contract, subject string) error {
	if ct == nil || ct.rs == nil || len(ct.rs.MigrationRules) == 0 {
		return nil
	}
	types := make([]string, 0, len(ct.rs.MigrationRules))
	for _, r := range ct.rs.MigrationRules {
		if t := strings.ToUpper(r.Type); !slices.Contains(types, t) {
			types = append(types, t)
		}
	}
	return dataErrCause(rules.ErrMigrationUnsupported,
		"subject %s: migration rules of type %s are not supported (Sluice executes domain rules of type CEL and CEL_FIELD only)",
		subject, strings.Join(types, ", "))
}
