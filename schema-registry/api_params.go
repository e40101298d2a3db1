package registry

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"
)

// Path and query parameters shared by the handlers: subjects with any
// characters (routed on the escaped path), schema contexts, the lookup
// filters (deleted, deletedOnly, deletedAsNegative) and pagination.

// routeEscaped makes chi route on the request's escaped path, always: a
// subject such as "srtest/money.proto" arrives as "srtest%2Fmoney.proto"
// and must stay one path segment. (Left alone, chi routes on RawPath only
// when the client's escaping differs from Go's default, and on the
// decoded Path otherwise, so a parameter would sometimes arrive escaped
// and sometimes not.) pathParam unescapes every parameter.
//
// A path under /contexts/{context}/ (how Confluent's clients address a
// context by URL) is routed without that prefix when it names the
// default context, and refused otherwise.
func routeEscaped(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if rctx := chi.RouteContext(r.Context()); rctx != nil && rctx.RoutePath == "" {
			path, err := withoutContextPrefix(r.URL.EscapedPath())
			if err != nil {
				writeError(w, err)
				return
			}
			rctx.RoutePath = path
		}
		next.ServeHTTP(w, r)
	})
}

// withoutContextPrefix removes a default-context "/contexts/{context}"
// prefix from an escaped path; "/contexts" itself and DELETE
// /contexts/{context} have no rest and are left alone.
func withoutContextPrefix(path string) (string, error) {
	rest, ok := strings.CutPrefix(path, "/contexts/")
	if !ok {
		return path, nil
	}
	escaped, rest, ok := strings.Cut(rest, "/")
	if !ok || rest == "" {
		return path, nil
	}
	name, err := url.PathUnescape(escaped)
	if err != nil {
		return path, nil
	}
	ctx := strings.TrimSuffix(strings.TrimPrefix(name, ":"), ":")
	if !strings.HasPrefix(ctx, ".") {
		ctx = "." + ctx
	}
	if ctx != "." {
		return "", newAPIError(codeInvalidSubject, "Schema context '%s' is not served; "+
			"this registry serves only the default context '.'", ctx)
	}
	return "/" + rest, nil
}

// pathParam returns a URL parameter, unescaped.
func pathParam(r *http.Request, name string) string {
	raw := chi.URLParam(r, name)
	if v, err := url.PathUnescape(raw); err == nil {
		return v
	}
	return raw // EscapedPath only yields valid escapes; kept for safety
}

// Schema contexts. Confluent qualifies a subject with a context as
// ":.ctx:subject"; the default context is "." and ":.:subject" names the
// same subject as "subject". Sluice serves the default context only: the
// qualifier of the default context is removed, and a subject in any other
// context is refused with 42208, so nothing is stored under a name its
// writer believes isolated.
const (
	contextPrefix   = ":."
	contextWildcard = ":*:"
)

// unqualifySubject removes the default context's qualifier from subject,
// or refuses a subject in another context.
func unqualifySubject(subject string) (string, error) {
	if strings.HasPrefix(subject, contextWildcard) {
		return "", errOtherContext(subject, "*")
	}
	if !strings.HasPrefix(subject, contextPrefix) {
		return subject, nil
	}
	ctx, rest, found := strings.Cut(subject[1:], ":")
	if ctx != "." {
		return "", errOtherContext(subject, ctx)
	}
	if !found {
		return "", nil
	}
	return rest, nil
}

func errOtherContext(subject, ctx string) error {
	return newAPIError(codeInvalidSubject, "The specified subject '%s' is in schema context '%s'; "+
		"this registry serves only the default context '.' (name the subject without a context, or as ':.:subject')",
		subject, ctx)
}

// listContexts serves GET /contexts: the default context only, filtered
// by ?contextPrefix and paged as Confluent's.
func listContexts(w http.ResponseWriter, r *http.Request) {
	contexts := []string{}
	if strings.HasPrefix(".", r.URL.Query().Get("contextPrefix")) {
		contexts = append(contexts, ".")
	}
	contexts, err := page(r, contexts, unlimited)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, contexts)
}

// subjectParam returns the {subject} path parameter, unescaped and
// without a default-context qualifier.
func subjectParam(r *http.Request) (string, error) {
	return unqualifySubject(pathParam(r, "subject"))
}

// subjectPrefixParam returns ?subjectPrefix without a context qualifier;
// ok is false when it names another context, which holds no subjects.
// Confluent's default prefix ":*:" (every context) is the default
// context here.
func subjectPrefixParam(r *http.Request) (prefix string, ok bool) {
	prefix = r.URL.Query().Get("subjectPrefix")
	if rest, found := strings.CutPrefix(prefix, contextWildcard); found {
		return rest, true
	}
	p, err := unqualifySubject(prefix)
	return p, err == nil
}

// unqualifyReferences removes the default context's qualifier from the
// subjects references name.
func unqualifyReferences(refs []Reference) error {
	for i := range refs {
		s, err := unqualifySubject(refs[i].Subject)
		if err != nil {
			return err
		}
		refs[i].Subject = s
	}
	return nil
}

// lookupFilter says which versions a listing includes, as Confluent's
// LookupFilter.
type lookupFilter int

const (
	filterLive              lookupFilter = iota // undeleted only (the default)
	filterIncludeDeleted                        // ?deleted=true
	filterDeletedOnly                           // ?deletedOnly=true (wins over deleted)
	filterDeletedAsNegative                     // ?deletedAsNegative=true: all, deleted ones negated
)

// lookupFilterParam reads the filter parameters of a listing.
func lookupFilterParam(r *http.Request, negative bool) lookupFilter {
	switch {
	case negative && boolParam(r, "deletedAsNegative"):
		return filterDeletedAsNegative
	case boolParam(r, "deletedOnly"):
		return filterDeletedOnly
	case boolParam(r, "deleted"):
		return filterIncludeDeleted
	}
	return filterLive
}

// includes reports whether a version with the deleted flag is listed.
func (f lookupFilter) includes(deleted bool) bool {
	switch f {
	case filterLive:
		return !deleted
	case filterDeletedOnly:
		return deleted
	}
	return true
}

// Default page sizes when ?limit is absent or not positive: Confluent's
// schema.search.default.limit (referencedby and schema listings) and
// unlimited for subjects and versions.
const (
	defaultSchemaLimit = 1000
	unlimited          = int(^uint(0) >> 1)
)

// page returns the part of items that ?offset and ?limit select: offset
// defaults to 0, a limit that is absent or not positive to defaultLimit.
func page[T any](r *http.Request, items []T, defaultLimit int) ([]T, error) {
	offset, err := intParam(r, "offset", 0)
	if err != nil {
		return nil, err
	}
	if offset < 0 {
		return nil, newAPIError(codeUnprocessable, "Unprocessable Entity: offset %d is negative", offset)
	}
	limit, err := intParam(r, "limit", -1)
	if err != nil {
		return nil, err
	}
	if limit <= 0 {
		limit = defaultLimit
	}
	if offset >= len(items) {
		return items[:0], nil
	}
	items = items[offset:]
	if limit < len(items) {
		items = items[:limit]
	}
	return items, nil
}

// intParam parses an integer query parameter (def when absent).
func intParam(r *http.Request, name string, def int) (int, error) {
	raw := r.URL.Query().Get(name)
	if raw == "" {
		return def, nil
	}
	n, err := strconv.Atoi(raw)
	if err != nil {
		return 0, newAPIError(codeUnprocessable, "Unprocessable Entity: %s '%s' is not an integer", name, raw)
	}
	return n, nil
}

// formattedParsed is a parsed schema with output formats besides its
// stored text (Confluent's ParsedSchema.formattedString).
type formattedParsed interface {
	// Formatted returns the schema in format; ok is false for a format
	// the type does not know, which Confluent answers with the stored
	// text (formats are forward compatible).
	Formatted(format string) (text string, ok bool, err error)
}

// formatted returns v's schema text in ?format (the stored text when
// absent or unknown to v's type).
func (s *Server) formatted(r *http.Request, v *version) (string, error) {
	format := strings.TrimSpace(r.URL.Query().Get("format"))
	if format == "" || strings.EqualFold(format, "default") {
		return v.Schema, nil
	}
	p, err := s.parseStored(v)
	if err != nil {
		return "", errInvalidSchema(err)
	}
	f, ok := p.(formattedParsed)
	if !ok {
		return v.Schema, nil
	}
	text, ok, err := f.Formatted(format)
	if err != nil {
		return "", errInvalidSchema(err)
	}
	if !ok {
		return v.Schema, nil
	}
	return text, nil
}
