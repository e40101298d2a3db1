package registry

import (
	"strings"
	"sync"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/ext"
)

// CEL rules are compiled at registration, so an expression that cannot
// run is refused with the compiler's message instead of failing every
// record later. The record is not known here: message and value are
// declared dynamic, which checks syntax, functions and the types of
// everything else. The variables are those Confluent's executors bind:
// message for CEL; value, fullName, name, typeName, tags and message for
// CEL_FIELD.

// CEL rule types.
const (
	ruleTypeCEL      = "CEL"
	ruleTypeCELField = "CEL_FIELD"
)

// celIgnoreGuard is the rule parameter that turns off the guard
// separator: without it, text before the first ';' is a guard.
const celIgnoreGuard = "cel.ignore.guard.separator"

var celEnvs = sync.OnceValues(func() (map[string]*cel.Env, error) {
	message, err := cel.NewEnv(ext.Strings(), ext.Encoders(), cel.Variable("message", cel.DynType))
	if err != nil {
		return nil, err
	}
	field, err := cel.NewEnv(ext.Strings(), ext.Encoders(),
		cel.Variable("message", cel.DynType),
		cel.Variable("value", cel.DynType),
		cel.Variable("fullName", cel.StringType),
		cel.Variable("name", cel.StringType),
		cel.Variable("typeName", cel.StringType),
		cel.Variable("tags", cel.ListType(cel.StringType)))
	if err != nil {
		return nil, err
	}
	return map[string]*cel.Env{ruleTypeCEL: message, ruleTypeCELField: field}, nil
})

// compileCELRule compiles r's expression (its guard and body) when r is
// an enabled CEL or CEL_FIELD rule; other types are left to their
// executors.
func compileCELRule(r Rule) error {
	if r.Disabled || (r.Type != ruleTypeCEL && r.Type != ruleTypeCELField) {
		return nil
	}
	envs, err := celEnvs()
	if err != nil {
		return errInvalidRuleSet("Rule '%s': CEL environment: %v", r.Name, err)
	}
	parts := []string{r.Expr}
	if r.Params[celIgnoreGuard] != "true" {
		if guard, body, ok := strings.Cut(r.Expr, ";"); ok {
			parts = []string{body}
			if strings.TrimSpace(guard) != "" {
				parts = append(parts, guard)
			}
		}
	}
	for _, expr := range parts {
		if strings.TrimSpace(expr) == "" {
			return errInvalidRuleSet("Rule '%s': empty %s expression", r.Name, r.Type)
		}
		if _, issues := envs[r.Type].Compile(expr); issues != nil && issues.Err() != nil {
			return errInvalidRuleSet("Rule '%s': invalid %s expression: %s", r.Name, r.Type, issues.Err())
		}
	}
	return nil
}
