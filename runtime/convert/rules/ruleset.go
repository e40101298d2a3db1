// Package rules executes the domain rules of a Confluent data contract on
// Connect data: the CEL conditions a record must meet and the CEL transforms
// (whole-record or per field, such as masking every field tagged PII) that a
// schema version's ruleSet declares, with the onSuccess/onFailure actions
// NONE, ERROR and DLQ.
//
// A converter calls Executor.Execute once per record: with ModeWrite on the
// way in (FromConnect, before serializing) and ModeRead on the way out
// (ToConnect, after deserializing). The rule set and metadata come from the
// registered schema version; this package knows nothing of the registry.
//
//	ruleSet ──► for each enabled domain rule whose mode matches (READ: in reverse order)
//	              CEL        message ──► bool (CONDITION) | new message (TRANSFORM)
//	              CEL_FIELD  for each primitive field whose tags match the rule's tags:
//	                         value, name, fullName, typeName, tags, message ──► bool | new value
//	            ──► onSuccess / onFailure: NONE (go on), ERROR (*RuleError), DLQ (*RuleError, Action DLQ)
//
// An expression may start with a guard, "guard ; body" (the first ';'
// splits them unless the rule's cel.ignore.guard.separator param is
// "true"): unless the guard is true the body does not run, a condition
// passes and a transform leaves its input alone. Expressions are compiled
// once and cached, in internal/celrules' environment (the registry's):
// Confluent's string checks (isEmail, isUuid, …), the strings (replace,
// substring, …) and math (math.greatest, …) extensions, and now. An
// evaluation is bounded by a CEL cost limit: a rule whose static estimate
// could exceed it is tracked and stopped with "cost limit exceeded".
//
// Migration rules (UPGRADE/DOWNGRADE, JSONata in Confluent's clients) are not
// executed: Validate refuses them and Execute in an UPGRADE or DOWNGRADE mode
// returns ErrMigrationUnsupported.
package rules

import (
	"encoding/json"
	"slices"
	"strings"
)

// Kind is what a rule does with its expression's result.
type Kind string

// The rule kinds.
const (
	// KindCondition rules fail a record whose expression is false.
	KindCondition Kind = "CONDITION"
	// KindTransform rules replace the record (or field) with the result.
	KindTransform Kind = "TRANSFORM"
)

// Mode says when a rule runs. Domain rules are WRITE, READ or WRITEREAD;
// migration rules UPGRADE, DOWNGRADE or UPDOWN.
type Mode string

// The rule modes.
const (
	ModeWrite     Mode = "WRITE"
	ModeRead      Mode = "READ"
	ModeWriteRead Mode = "WRITEREAD"
	ModeUpgrade   Mode = "UPGRADE"
	ModeDowngrade Mode = "DOWNGRADE"
	ModeUpDown    Mode = "UPDOWN"
)

// The rule types this package executes, and the one it refuses by name.
const (
	TypeCEL      = "CEL"
	TypeCELField = "CEL_FIELD"
	TypeJSONata  = "JSONATA"
)

// The rule actions.
const (
	ActionNone  = "NONE"
	ActionError = "ERROR"
	ActionDLQ   = "DLQ"
)

// Parameters Confluent defines, read from a rule's params and then from the
// schema's metadata properties (Param).
const (
	// ParamDLQTopic names the topic a DLQ action sends the record to.
	ParamDLQTopic = "dlq.topic"
	// ParamDLQAutoFlush asks for the DLQ record to be flushed at once.
	ParamDLQAutoFlush = "dlq.auto.flush"
	// ParamIgnoreGuard "true" makes a CEL expression's ';' part of the
	// expression rather than the end of a guard.
	ParamIgnoreGuard = "cel.ignore.guard.separator"
)

// TagsParameter is the Connect schema parameter a converter may set on a
// field's schema to carry inline tags (Avro's and JSON Schema's
// "confluent:tags"), comma-separated; they add to the tags Metadata gives
// the field's path.
const TagsParameter = "confluent:tags"

// Headers of a record sent to a rule's DLQ (Confluent's DlqAction). A record
// read back with HeaderRuleName set skips that rule, so a DLQ can be read.
const (
	HeaderRuleName      = "__rule.name"
	HeaderRuleMode      = "__rule.mode"
	HeaderRuleSubject   = "__rule.subject"
	HeaderRuleTopic     = "__rule.topic"
	HeaderRuleException = "__rule.exception"
)

const (
	ruleNameMaxLength = 256
	defaultKind       = KindTransform
	defaultMode       = ModeWriteRead
)

// RuleSet is a schema version's rules, as Confluent's REST API spells it.
type RuleSet struct {
	MigrationRules []Rule `json:"migrationRules,omitempty"`
	DomainRules    []Rule `json:"domainRules,omitempty"`
	EncodingRules  []Rule `json:"encodingRules,omitempty"`
	// EnableAt is where the rules run: ALL (or empty), CLIENT, GATEWAY,
	// SERVER or NONE. A Connect worker is a client.
	EnableAt string `json:"enableAt,omitempty"`
}

// Rule is one rule of a RuleSet.
type Rule struct {
	Name string `json:"name,omitempty"`
	Doc  string `json:"doc,omitempty"`
	Kind Kind   `json:"kind,omitempty"`
	Mode Mode   `json:"mode,omitempty"`
	// Type names the executor: CEL, CEL_FIELD, JSONATA, ENCRYPT, …
	Type string `json:"type,omitempty"`
	// Tags select the fields a field rule applies to (none: every field).
	Tags   []string          `json:"tags,omitempty"`
	Params map[string]string `json:"params,omitempty"`
	Expr   string            `json:"expr,omitempty"`
	// OnSuccess and OnFailure name the action: NONE, ERROR or DLQ, or for
	// WRITEREAD and UPDOWN rules a pair "WRITE_ACTION,READ_ACTION".
	OnSuccess string `json:"onSuccess,omitempty"`
	OnFailure string `json:"onFailure,omitempty"`
	Disabled  bool   `json:"disabled"`
}

// UnmarshalJSON applies Confluent's defaults (kind TRANSFORM, mode
// WRITEREAD) and sorts and de-duplicates the tags, as the registry does.
func (r *Rule) UnmarshalJSON(b []byte) error {
	type plain Rule
	var p plain
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	if p.Kind == "" {
		p.Kind = defaultKind
	}
	if p.Mode == "" {
		p.Mode = defaultMode
	}
	if len(p.Tags) > 0 {
		slices.Sort(p.Tags)
		p.Tags = slices.Compact(p.Tags)
	}
	*r = Rule(p)
	return nil
}

// Metadata is a schema version's metadata: tags on field paths, free
// properties and the names of sensitive properties.
type Metadata struct {
	// Tags maps a field path pattern (Order.ssn, **.ssn, $.ssn) to tags.
	Tags       map[string][]string `json:"tags,omitempty"`
	Properties map[string]string   `json:"properties,omitempty"`
	Sensitive  []string            `json:"sensitive,omitempty"`
}

// Param returns a rule parameter: the rule's own params first, then the
// metadata properties (Confluent's RuleContext.getParameter).
func Param(r *Rule, md *Metadata, name string) string {
	if v, ok := r.Params[name]; ok {
		return v
	}
	if md != nil {
		return md.Properties[name]
	}
	return ""
}

// actionFor picks the action for mode from a possibly paired action string.
func actionFor(r *Rule, mode Mode, action string) string {
	if rm := r.mode(); (rm == ModeWriteRead || rm == ModeUpDown) && strings.Contains(action, ",") {
		write, read, _ := strings.Cut(action, ",")
		if mode == ModeRead || mode == ModeDowngrade {
			return strings.TrimSpace(read)
		}
		return strings.TrimSpace(write)
	}
	return strings.TrimSpace(action)
}

func (r *Rule) mode() Mode {
	if r.Mode == "" {
		return defaultMode
	}
	return r.Mode
}

func (r *Rule) kind() Kind {
	if r.Kind == "" {
		return defaultKind
	}
	return r.Kind
}

// applies reports whether a rule of mode rule runs when executing mode.
func applies(rule, mode Mode) bool {
	switch rule {
	case ModeWriteRead:
		return mode == ModeWrite || mode == ModeRead
	case ModeUpDown:
		return mode == ModeUpgrade || mode == ModeDowngrade
	}
	return rule == mode
}
