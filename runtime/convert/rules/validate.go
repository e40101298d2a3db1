package rules

import (
	"errors"
	"fmt"
	"strings"
	"unicode"

	"github.com/sluicehq/sluice/internal/celrules"
)

// Validate checks a rule set as Confluent's registry does (names, types,
// modes per phase, paired actions only for WRITEREAD and UPDOWN, no
// duplicate names), and what this package needs to run it: kinds CONDITION
// or TRANSFORM, actions NONE, ERROR or DLQ, CEL and CEL_FIELD expressions
// that compile (the compiler's message is in the error), and no migration
// rules ("migration rules of type JSONATA are not supported"). Rules of
// other types (ENCRYPT, …) pass: a Confluent client may run them. Every
// problem is reported, joined; each wraps ErrInvalidRuleSet.
func Validate(rs *RuleSet) error {
	if rs == nil {
		return nil
	}
	var errs []error
	names := map[string]bool{}
	check := func(phase string, rules []Rule, modes ...Mode) {
		for i := range rules {
			r := &rules[i]
			if names[r.Name] {
				errs = append(errs, invalid(r, "duplicate rule name"))
			}
			names[r.Name] = true
			errs = append(errs, validateRule(phase, r, modes)...)
		}
	}
	check("migration", rs.MigrationRules, ModeUpgrade, ModeDowngrade, ModeUpDown)
	check("domain", rs.DomainRules, ModeWrite, ModeRead, ModeWriteRead)
	check("encoding", rs.EncodingRules, ModeWrite, ModeRead, ModeWriteRead)
	for i := range rs.MigrationRules {
		r := &rs.MigrationRules[i]
		errs = append(errs, invalid(r, fmt.Sprintf("migration rules of type %s are not supported (Sluice executes domain rules of type CEL and CEL_FIELD only)", strings.ToUpper(r.Type))))
	}
	switch rs.EnableAt {
	case "", "ALL", "CLIENT", "GATEWAY", "SERVER", "NONE":
	default:
		errs = append(errs, fmt.Errorf("%w: enableAt %q is not ALL, CLIENT, GATEWAY, SERVER or NONE", ErrInvalidRuleSet, rs.EnableAt))
	}
	return errors.Join(errs...)
}

func invalid(r *Rule, msg string) error {
	return fmt.Errorf("%w: rule %q: %s", ErrInvalidRuleSet, r.Name, msg)
}

func validateRule(phase string, r *Rule, modes []Mode) []error {
	var errs []error
	if msg := badName(r.Name); msg != "" {
		errs = append(errs, invalid(r, msg))
	}
	if r.Type == "" {
		errs = append(errs, invalid(r, "missing rule type"))
	}
	switch r.kind() {
	case KindCondition, KindTransform:
	default:
		errs = append(errs, invalid(r, fmt.Sprintf("unknown rule kind %q (want CONDITION or TRANSFORM)", r.Kind)))
	}
	mode := r.mode()
	if !contains(modesStrings(modes), string(mode)) {
		errs = append(errs, invalid(r, fmt.Sprintf("%s rules can only be %s, not %q", phase, joinModes(modes), r.Mode)))
	}
	for _, a := range []string{r.OnSuccess, r.OnFailure} {
		if a == "" {
			continue
		}
		parts := strings.Split(a, ",")
		if len(parts) > 1 && mode != ModeWriteRead && mode != ModeUpDown {
			errs = append(errs, invalid(r, "multiple actions only valid with WRITEREAD and UPDOWN"))
		}
		if len(parts) > 2 {
			errs = append(errs, invalid(r, fmt.Sprintf("action %q has more than two parts", a)))
		}
		for _, p := range parts {
			switch strings.ToUpper(strings.TrimSpace(p)) {
			case ActionNone, ActionError, ActionDLQ:
			default:
				errs = append(errs, invalid(r, fmt.Sprintf("unknown rule action %q (want NONE, ERROR or DLQ)", p)))
			}
		}
	}
	kind, ok := celrules.KindOf(strings.ToUpper(r.Type))
	if !ok {
		return errs
	}
	// The registry's check (internal/celrules), so both refuse a rule
	// with the same compiler message.
	if err := celrules.Check(kind, r.Expr, celrules.IgnoreGuard(r.Params[ParamIgnoreGuard])); err != nil {
		errs = append(errs, invalid(r, err.Error()))
	}
	return errs
}

// badName applies Confluent's rule-name rules.
func badName(name string) string {
	switch {
	case name == "":
		return "missing rule name"
	case len(name) > ruleNameMaxLength:
		return "rule name too long"
	}
	for i, c := range name {
		ok := unicode.IsLetter(c) || c == '_'
		if i > 0 {
			ok = ok || unicode.IsDigit(c) || c == '-'
		}
		if !ok {
			return "illegal character in rule name"
		}
	}
	return ""
}

func modesStrings(modes []Mode) []string {
	out := make([]string, len(modes))
	for i, m := range modes {
		out[i] = string(m)
	}
	return out
}

func joinModes(modes []Mode) string { return strings.Join(modesStrings(modes), ", ") }
