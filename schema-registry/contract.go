package registry

import (
	"encoding/json"
	"maps"
	"slices"
	"strconv"
	"strings"
	"unicode"
)

// Data contracts: besides its schema, a version carries metadata (tags
// on paths, properties, sensitive names) and a rule set (migration,
// domain and encoding rules the serializers and converters execute).
// Both take part in a schema's identity, as in Confluent's registry: the
// same text with other metadata or rules is another schema, with its own
// id and, in a subject, its own version.

// Metadata is a schema version's metadata. Sets are kept sorted and
// maps are written with sorted keys, as Confluent's sorted collections
// are, so equal metadata encodes to equal JSON.
type Metadata struct {
	Tags       map[string][]string `json:"tags,omitempty"`
	Properties map[string]string   `json:"properties,omitempty"`
	Sensitive  []string            `json:"sensitive,omitempty"`
}

// RuleSet is a schema version's rules. EnableAt is Confluent's
// ExecutionEnvironment (ALL, CLIENT, GATEWAY, SERVER, NONE).
type RuleSet struct {
	MigrationRules []Rule  `json:"migrationRules,omitempty"`
	DomainRules    []Rule  `json:"domainRules,omitempty"`
	EncodingRules  []Rule  `json:"encodingRules,omitempty"`
	EnableAt       *string `json:"enableAt,omitempty"`
}

// Rule is one data-contract rule. Kind is CONDITION or TRANSFORM; Mode
// is UPGRADE, DOWNGRADE or UPDOWN for migration rules and WRITE, READ or
// WRITEREAD for domain and encoding rules; Type names the executor (CEL,
// CEL_FIELD, JSONATA, ...). Disabled is always written, as Confluent
// writes it.
type Rule struct {
	Name      string            `json:"name,omitempty"`
	Doc       string            `json:"doc,omitempty"`
	Kind      string            `json:"kind,omitempty"`
	Mode      string            `json:"mode,omitempty"`
	Type      string            `json:"type,omitempty"`
	Tags      []string          `json:"tags,omitempty"`
	Params    map[string]string `json:"params,omitempty"`
	Expr      string            `json:"expr,omitempty"`
	OnSuccess string            `json:"onSuccess,omitempty"`
	OnFailure string            `json:"onFailure,omitempty"`
	Disabled  bool              `json:"disabled"`
}

// Rule kinds and modes.
const (
	KindCondition = "CONDITION"
	KindTransform = "TRANSFORM"

	ModeUpgrade   = "UPGRADE"
	ModeDowngrade = "DOWNGRADE"
	ModeUpDown    = "UPDOWN"
	ModeWrite     = "WRITE"
	ModeRead      = "READ"
	ModeWriteRead = "WRITEREAD"
)

// Enum values as Jackson lists them when it refuses an unknown one (the
// order of its hash table, which Confluent's 400 message shows).
var (
	ruleKinds        = []string{KindCondition, KindTransform}
	ruleModes        = []string{ModeDowngrade, ModeRead, ModeUpgrade, ModeUpDown, ModeWrite, ModeWriteRead}
	executionEnvs    = []string{"NONE", "ALL", "SERVER", "GATEWAY", "CLIENT"}
	ruleNameMaxChars = 256
)

// contract is what a version carries besides its schema; nil fields are
// absent (an empty non-nil one is present and differs from absent, as
// in Confluent's hash).
type contract struct {
	Metadata *Metadata `json:"metadata,omitempty"`
	RuleSet  *RuleSet  `json:"ruleSet,omitempty"`
}

// key is the contract's identity: its canonical JSON ("" when empty).
func (c contract) key() string {
	if c.Metadata == nil && c.RuleSet == nil {
		return ""
	}
	b, _ := json.Marshal(c) // maps marshal with sorted keys; sets are sorted by normalize
	return string(b)
}

func (c contract) equal(o contract) bool { return c.key() == o.key() }

// normalize sorts and deduplicates every set, as Confluent's sorted
// sets do, so equal contracts have equal keys.
func (c contract) normalize() contract {
	if m := c.Metadata; m != nil {
		n := &Metadata{Properties: m.Properties, Sensitive: sortedSet(m.Sensitive)}
		if len(m.Tags) > 0 {
			n.Tags = make(map[string][]string, len(m.Tags))
			for path, tags := range m.Tags {
				n.Tags[path] = sortedSet(tags)
				if n.Tags[path] == nil {
					n.Tags[path] = []string{}
				}
			}
		}
		c.Metadata = n
	}
	if rs := c.RuleSet; rs != nil {
		c.RuleSet = &RuleSet{MigrationRules: normalizeRules(rs.MigrationRules), DomainRules: normalizeRules(rs.DomainRules),
			EncodingRules: normalizeRules(rs.EncodingRules), EnableAt: rs.EnableAt}
	}
	return c
}

func normalizeRules(rules []Rule) []Rule {
	out := slices.Clone(rules)
	for i := range out {
		out[i].Tags = sortedSet(out[i].Tags)
	}
	return out
}

func sortedSet(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	out := slices.Clone(s)
	slices.Sort(out)
	return slices.Compact(out)
}

// property returns a metadata property ("" and false when absent).
func (c contract) property(name string) (string, bool) {
	if c.Metadata == nil {
		return "", false
	}
	v, ok := c.Metadata.Properties[name]
	return v, ok
}

// confluentVersion is the metadata property holding the version number
// a schema was registered as, once a client or the config sets it.
const confluentVersion = "confluent:version"

// withConfluentVersion sets the confluent:version property of a new
// version's metadata to its number, as Confluent does when the property
// is already there (set by the request, the config or inherited from
// the previous version) or the request named a version; ok is false
// when nothing changes.
func withConfluentVersion(c contract, requested bool, version int) (contract, bool) {
	if _, has := c.property(confluentVersion); !has && !requested {
		return c, false
	}
	m := Metadata{}
	if c.Metadata != nil {
		m = *c.Metadata
	}
	m.Properties = maps.Clone(m.Properties)
	if m.Properties == nil {
		m.Properties = map[string]string{}
	}
	m.Properties[confluentVersion] = strconv.Itoa(version)
	c.Metadata = &m
	return c, true
}

// mergeMetadata is Confluent's Metadata.mergeMetadata: each of tags,
// properties and sensitive of over replaces or extends old's (tags and
// properties by key, sensitive as a union); a nil side yields the other.
func mergeMetadata(old, over *Metadata) *Metadata {
	switch {
	case old == nil:
		return over
	case over == nil:
		return old
	}
	return &Metadata{
		Tags:       mergeMaps(old.Tags, over.Tags),
		Properties: mergeMaps(old.Properties, over.Properties),
		Sensitive:  mergeSets(old.Sensitive, over.Sensitive),
	}
}

func mergeMaps[T any](old, over map[string]T) map[string]T {
	switch {
	case len(old) == 0:
		return over
	case len(over) == 0:
		return old
	}
	out := maps.Clone(old)
	maps.Copy(out, over)
	return out
}

func mergeSets(old, over []string) []string {
	switch {
	case len(old) == 0:
		return over
	case len(over) == 0:
		return old
	}
	return sortedSet(append(slices.Clone(old), over...))
}

// mergeRuleSets is Confluent's RuleSet.mergeRuleSets: per phase, the
// rules of over replace old's rules of the same name and follow them.
func mergeRuleSets(old, over *RuleSet) *RuleSet {
	switch {
	case old == nil:
		return over
	case over == nil:
		return old
	}
	enableAt := over.EnableAt
	if enableAt == nil {
		enableAt = old.EnableAt
	}
	return &RuleSet{
		MigrationRules: mergeRules(old.MigrationRules, over.MigrationRules),
		DomainRules:    mergeRules(old.DomainRules, over.DomainRules),
		EncodingRules:  mergeRules(old.EncodingRules, over.EncodingRules),
		EnableAt:       enableAt,
	}
}

func mergeRules(old, over []Rule) []Rule {
	switch {
	case len(old) == 0:
		return over
	case len(over) == 0:
		return old
	}
	out := slices.DeleteFunc(slices.Clone(old), func(r Rule) bool {
		return slices.ContainsFunc(over, func(n Rule) bool { return n.Name == r.Name })
	})
	return append(out, over...)
}

// checkEnums refuses a kind, mode or enableAt Confluent's JSON reader
// would not decode, with its 400 and Jackson's message (class name
// shortened, as Confluent's mapper shortens it).
func (rs *RuleSet) checkEnums() error {
	if rs == nil {
		return nil
	}
	if rs.EnableAt != nil && !slices.Contains(executionEnvs, *rs.EnableAt) {
		return errEnum("ExecutionEnvironment", *rs.EnableAt, executionEnvs)
	}
	for _, rules := range [][]Rule{rs.MigrationRules, rs.DomainRules, rs.EncodingRules} {
		for _, r := range rules {
			if r.Kind != "" && !slices.Contains(ruleKinds, r.Kind) {
				return errEnum("RuleKind", r.Kind, ruleKinds)
			}
			if r.Mode != "" && !slices.Contains(ruleModes, r.Mode) {
				return errEnum("RuleMode", r.Mode, ruleModes)
			}
		}
	}
	return nil
}

func errEnum(class, value string, accepted []string) error {
	return newAPIError(codeBadRequest, "Cannot deserialize value of type `%s` from String %q: "+
		"not one of the values accepted for Enum class: [%s]", class, value, strings.Join(accepted, ", "))
}

// validate is Confluent's RuleSet.validate (names unique across phases,
// each rule valid, modes fitting their phase), then compiles every
// enabled CEL rule. The error is 42210 with Confluent's message, or the
// CEL compiler's.
func (rs *RuleSet) validate() error {
	if rs == nil {
		return nil
	}
	names := map[string]bool{}
	phases := []struct {
		rules   []Rule
		modes   []string
		message string
	}{
		{rs.MigrationRules, []string{ModeUpgrade, ModeDowngrade, ModeUpDown}, "Migration rules can only be UPGRADE, DOWNGRADE, UPDOWN"},
		{rs.DomainRules, []string{ModeWrite, ModeRead, ModeWriteRead}, "Domain rules can only be WRITE, READ, WRITEREAD"},
		{rs.EncodingRules, []string{ModeWrite, ModeRead, ModeWriteRead}, "Encoding rules can only be WRITE, READ, WRITEREAD"},
	}
	for _, phase := range phases {
		for _, r := range phase.rules {
			if names[r.Name] {
				return errInvalidRuleSet("Found rule with duplicate name '%s'", r.Name)
			}
			names[r.Name] = true
			if err := r.validate(); err != nil {
				return err
			}
			if !slices.Contains(phase.modes, r.Mode) {
				return errInvalidRuleSet("%s", phase.message)
			}
			if err := compileCELRule(r); err != nil {
				return err
			}
		}
	}
	return nil
}

// validate is Confluent's Rule.validate.
func (r Rule) validate() error {
	switch {
	case r.Name == "":
		return errInvalidRuleSet("Missing rule name")
	case len([]rune(r.Name)) > ruleNameMaxChars:
		return errInvalidRuleSet("Rule name too long")
	}
	for i, c := range r.Name {
		if i == 0 && !unicode.IsLetter(c) && c != '_' {
			return errInvalidRuleSet("Illegal initial character in rule name: %s", r.Name)
		}
		if i > 0 && !unicode.IsLetter(c) && !unicode.IsDigit(c) && c != '_' && c != '-' {
			return errInvalidRuleSet("Illegal character in rule name: %s", r.Name)
		}
	}
	if r.Type == "" {
		return errInvalidRuleSet("Missing rule type")
	}
	for _, action := range []string{r.OnSuccess, r.OnFailure} {
		if r.Mode != ModeWriteRead && r.Mode != ModeUpDown && strings.Contains(action, ",") {
			return errInvalidRuleSet("Multiple actions only valid with WRITEREAD and UPDOWN")
		}
	}
	return nil
}

func errInvalidRuleSet(format string, args ...any) error {
	return newAPIError(codeInvalidRuleSet, format, args...)
}

// checkContract refuses a request's rule set as Confluent's REST layer
// does: unknown enum values (400), then validate (42210).
func checkContract(c contract) error {
	if err := c.RuleSet.checkEnums(); err != nil {
		return err
	}
	return c.RuleSet.validate()
}
