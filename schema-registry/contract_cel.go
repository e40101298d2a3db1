package registry

import (
	"github.com/sluicehq/sluice/internal/celrules"
)

// CEL rules are compiled at registration, so an expression that cannot
// run is refused with the compiler's message instead of failing every
// record later. The environment is internal/celrules', the one the rule
// engine runs them in, so what the registry accepts the converters run.

// compileCELRule compiles r's expression (its guard and body) when r is
// an enabled CEL or CEL_FIELD rule; other types are left to their
// executors.
func compileCELRule(r Rule) error {
	kind, ok := celrules.KindOf(r.Type)
	if r.Disabled || !ok {
		return nil
	}
	if err := celrules.Check(kind, r.Expr, celrules.IgnoreGuard(r.Params[celrules.ParamIgnoreGuard])); err != nil {
		return errInvalidRuleSet("Rule '%s': %s", r.Name, err)
	}
	return nil
}
