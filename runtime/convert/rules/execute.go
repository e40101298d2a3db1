package rules

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
	"cel.dev/cel-go/interpreter"

	"github.com/sluicehq/sluice/runtime/connect"
)

// FieldNames says how a field's full name (the CEL variable fullName, and
// what Metadata.Tags patterns match) is spelled; it follows the format.
type FieldNames uint8

const (
	// RecordFieldNames is "<record full name>.<field>" (Avro, Protobuf):
	// com.acme.Order.ssn. A struct schema without a name is named
	// UnnamedRecord.
	RecordFieldNames FieldNames = iota
	// JSONPathFieldNames is the JSON path from the root (JSON Schema):
	// $.customer.ssn, $.items[0].sku.
	JSONPathFieldNames
)

// UnnamedRecord names a struct schema without a name, as the Avro
// converter does.
const UnnamedRecord = "io.confluent.connect.avro.ConnectDefault"

// RecordInfo describes the record whose key or value the rules run on.
type RecordInfo struct {
	Topic   string
	Subject string
	// IsKey is true when the rules run on the record key.
	IsKey bool
	// Headers are the record's headers; a HeaderRuleName header skips the
	// rule it names (the record came from that rule's DLQ).
	Headers    connect.Headers
	FieldNames FieldNames
	// RecordName, when set, is the full record name of a struct schema
	// for RecordFieldNames ("" for the schema's own name): a converter
	// whose Connect names leave out the package (Protobuf's) gives the
	// message's full name here. It must return the same name for a
	// schema every time.
	RecordName func(*connect.Schema) string
	// FieldTags, when set, returns the inline tags of the named field of
	// struct schema s, as the converter's schema declares them (Avro's
	// and JSON Schema's "confluent:tags", Protobuf's
	// (confluent.field_meta).tags); they add to the Metadata.Tags a field
	// matches. It must return the same tags for a schema every time.
	FieldTags func(s *connect.Schema, field string) []string
}

// Options configures an Executor. Zero values take the defaults.
type Options struct {
	// CostLimit bounds the CEL cost of one evaluation (DefaultCostLimit).
	CostLimit uint64
	// CacheSize bounds the compiled expressions kept (DefaultCacheSize).
	CacheSize int
}

// Executor runs rule sets. It is safe for concurrent use; one per
// converter (or per process) shares the compiled expressions.
type Executor struct {
	progs *programs
	tags  *tagCache
}

// NewExecutor returns an Executor.
func NewExecutor(opts Options) (*Executor, error) {
	if opts.CostLimit == 0 {
		opts.CostLimit = DefaultCostLimit
	}
	if opts.CacheSize <= 0 {
		opts.CacheSize = DefaultCacheSize
	}
	p, err := newPrograms(opts.CostLimit, opts.CacheSize)
	if err != nil {
		return nil, err
	}
	return &Executor{progs: p, tags: newTagCache(opts.CacheSize * 16)}, nil
}

// execution is one Execute call.
type execution struct {
	progs *programs
	tags  *tagCache
	mode  Mode
	rules []Rule
	md    *Metadata
	rec   *RecordInfo

	// One allocation per Execute: the record info, the field walker and
	// the activation every evaluation of this execution reuses (CEL keeps
	// no reference to an activation once Eval returns, and evaluations do
	// not nest).
	info RecordInfo
	w    walker
	act  activation
}

// activation returns x's activation, reset to bind message.
func (x *execution) activation(message ref.Val) *activation {
	x.act = activation{message: message}
	return &x.act
}

// Execute runs the domain rules of rs that apply in mode (ModeWrite or
// ModeRead) on value, of Connect schema schema, and returns the value the
// converter should go on with: value itself when no rule changed it (value
// is never modified in place; a transform returns a copy).
//
// Rules run in order (READ: in reverse order, as Confluent's clients do),
// each skipped when disabled, when its mode does not apply, or when the
// record's HeaderRuleName header names it. A rule that fails runs its
// onFailure action (default ERROR), one that succeeds its onSuccess action
// (default NONE); ERROR and DLQ end the execution with a *RuleError, NONE
// goes on with the value as it was before the failed rule.
//
// ModeUpgrade and ModeDowngrade return ErrMigrationUnsupported when rs has
// migration rules.
//
// md and schema must not change once passed: field tags are cached per
// (md, struct schema) pair, so pass the same pointers for one schema
// version rather than decoding them per record.
func (e *Executor) Execute(ctx context.Context, mode Mode, rs *RuleSet, md *Metadata,
	schema *connect.Schema, value any, rec RecordInfo) (any, error) {
	if value == nil || rs == nil || (len(rs.DomainRules) == 0 && len(rs.MigrationRules) == 0) || !enabledAtClient(rs.EnableAt) {
		return value, nil
	}
	switch mode {
	case ModeWrite, ModeRead:
	case ModeUpgrade, ModeDowngrade:
		if len(rs.MigrationRules) > 0 {
			return nil, fmt.Errorf("%w: %s rules of type %s", ErrMigrationUnsupported, mode, rs.MigrationRules[0].Type)
		}
		return value, nil
	default:
		return nil, fmt.Errorf("execute rules: mode %q is not WRITE, READ, UPGRADE or DOWNGRADE", mode)
	}
	x := &execution{progs: e.progs, tags: e.tags, mode: mode, rules: rs.DomainRules, md: md, info: rec} // only this path moves the record info to the heap
	x.rec = &x.info
	skipName := ""
	if h, ok := rec.Headers.Last(HeaderRuleName); ok {
		skipName = headerString(h.Value)
	}
	n := len(x.rules)
	for j := range n {
		i := j
		if mode == ModeRead {
			i = n - 1 - j
		}
		r := &x.rules[i]
		if r.Disabled || !applies(r.mode(), mode) || (skipName != "" && r.Name == skipName) {
			continue
		}
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("execute rule %s: %w", r.Name, err)
		}
		var err error
		value, err = x.runRule(i, schema, value)
		if err != nil {
			return nil, err
		}
	}
	return value, nil
}

func enabledAtClient(at string) bool {
	return at == "" || at == "ALL" || at == "CLIENT"
}

func headerString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case []byte:
		return string(x)
	}
	return ""
}

// runRule runs rule i and its action; it returns the value to go on with.
func (x *execution) runRule(i int, schema *connect.Schema, value any) (any, error) {
	r := &x.rules[i]
	out, err := x.evaluate(i, schema, value)
	if err == nil && r.kind() == KindTransform && out == nil {
		err = errors.New("transform returned null")
	}
	if err != nil {
		return value, x.actionError(r, x.action(r, r.OnFailure, ActionError), err)
	}
	if err := x.actionError(r, x.action(r, r.OnSuccess, ActionNone), nil); err != nil {
		return value, err
	}
	return out, nil
}

func (x *execution) action(r *Rule, action, def string) string {
	if a := actionFor(r, x.mode, action); a != "" {
		return strings.ToUpper(a)
	}
	return def
}

// evaluate runs rule i's executor: for a condition it returns value, or a
// *RuleConditionError.
func (x *execution) evaluate(i int, schema *connect.Schema, value any) (any, error) {
	r := &x.rules[i]
	if k := r.kind(); k != KindCondition && k != KindTransform {
		return nil, fmt.Errorf("unknown rule kind %q (want CONDITION or TRANSFORM)", k)
	}
	switch strings.ToUpper(r.Type) {
	case TypeCEL:
		return x.celMessage(r, schema, value)
	case TypeCELField:
		if x.sameTagsAsEarlier(i) {
			return value, nil
		}
		x.w = walker{x: x, r: r}
		return x.w.walk(schema, value, nil)
	}
	return nil, fmt.Errorf("no rule executor of type %q (this worker runs CEL and CEL_FIELD)", r.Type)
}

// sameTagsAsEarlier reports whether an earlier field transform of the same
// mode, type and tags supersedes rule i (Confluent runs only the first, so
// that WRITE and READ transforms of one tag pair up).
func (x *execution) sameTagsAsEarlier(i int) bool {
	r := &x.rules[i]
	if len(r.Tags) == 0 || r.kind() != KindTransform {
		return false
	}
	for j := range i {
		o := &x.rules[j]
		if o.kind() == KindTransform && o.mode() == r.mode() && strings.EqualFold(o.Type, r.Type) && equalTags(o.Tags, r.Tags) {
			return true
		}
	}
	return false
}

func equalTags(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for _, t := range a {
		if !contains(b, t) {
			return false
		}
	}
	return true
}

func contains(list []string, s string) bool {
	for _, t := range list {
		if t == s {
			return true
		}
	}
	return false
}

// celMessage runs a CEL rule with message bound to the whole value.
func (x *execution) celMessage(r *Rule, schema *connect.Schema, value any) (any, error) {
	msg := toCEL(schema, value)
	out, skipped, err := x.progs.eval(envMessage, r, x.md, x.activation(msg))
	if err != nil {
		return nil, err
	}
	return x.result(r, schema, value, msg, out, skipped)
}

// result turns a rule's CEL result into the value to go on with.
func (x *execution) result(r *Rule, schema *connect.Schema, value any, in, out ref.Val, skipped bool) (any, error) {
	if skipped {
		return value, nil
	}
	if r.kind() == KindCondition {
		// Only an explicit false fails, as in Confluent's clients.
		if out == types.False {
			return nil, &RuleConditionError{Rule: *r}
		}
		return value, nil
	}
	if out == in {
		return value, nil
	}
	if types.IsError(out) {
		return nil, fmt.Errorf("evaluate CEL expression %q: %v", r.Expr, out)
	}
	return fromCEL(schema, out)
}

// activation binds the CEL variables; the field ones are computed only
// when the expression reads them.
type activation struct {
	message  ref.Val
	field    fieldCtx
	hasField bool
	now      time.Time // set on first read, so guard and body agree
}

func (a *activation) ResolveName(name string) (any, bool) {
	switch name {
	case "message":
		return a.message, true
	case skipVar:
		return skipSentinel, true
	case "now":
		if a.now.IsZero() {
			a.now = time.Now()
		}
		return types.Timestamp{Time: a.now}, true
	}
	if !a.hasField {
		return nil, false
	}
	f := &a.field
	switch name {
	case "value":
		return toCEL(f.schema, f.value), true
	case "name":
		return types.String(f.name), true
	case "fullName":
		return types.String(f.fullName()), true
	case "typeName":
		return typeNameVal(f.schema, f.value), true
	case "tags":
		return types.NewStringList(types.DefaultTypeAdapter, f.tagList()), true
	}
	return nil, false
}

func (a *activation) Parent() interpreter.Activation { return nil }
