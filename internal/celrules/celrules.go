// Package celrules is the one CEL environment for data-contract rules of
// type CEL and CEL_FIELD: the schema registry compiles a rule with it at
// registration and the rule engine (runtime/convert/rules) compiles and
// runs it with it, so a rule one accepts the other accepts, and a rule one
// refuses the other refuses with the same compiler message.
//
// What an expression sees is what Confluent's CEL executors declare:
//
//	CEL        message
//	CEL_FIELD  message, value, name, fullName, typeName, tags
//	both       now (the evaluation's timestamp)
//
// with CEL's standard functions and macros, the strings and math
// extensions, and Confluent's string checks isEmail, isHostname, isIpv4,
// isIpv6, isUri, isUriRef and isUuid. message and value are dyn: the
// record's shape is known only per record, so one compiled program serves
// every schema.
//
// An expression "guard ; body" runs body only when guard is true, unless
// the rule's parameter cel.ignore.guard.separator is "true" (Split).
package celrules

import (
	"errors"
	"fmt"
	"strings"
	"sync"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/ext"
)

// Kind tells the two environments apart.
type Kind uint8

const (
	// Message is the environment of CEL rules.
	Message Kind = iota
	// Field is the environment of CEL_FIELD rules.
	Field
)

// The rule types compiled here, and the parameter that turns the guard
// separator off.
const (
	TypeCEL          = "CEL"
	TypeCELField     = "CEL_FIELD"
	ParamIgnoreGuard = "cel.ignore.guard.separator"
)

// MaxExprSize bounds an expression's length in code points.
const MaxExprSize = 64 << 10

// KindOf returns the environment of a rule type, and false for types that
// are not CEL (JSONATA, ENCRYPT, …). The match is exact, as Confluent's
// executor registry's is.
func KindOf(ruleType string) (Kind, bool) {
	switch ruleType {
	case TypeCEL:
		return Message, true
	case TypeCELField:
		return Field, true
	}
	return 0, false
}

// NewEnv builds kind's environment, with extra options after the shared
// ones (the engine adds its own internal variables). Most callers want
// Env, which builds each environment once.
func NewEnv(kind Kind, extra ...cel.EnvOption) (*cel.Env, error) {
	opts := []cel.EnvOption{
		cel.Variable("message", cel.DynType),
		cel.Variable("now", cel.TimestampType),
		cel.CrossTypeNumericComparisons(true),
		cel.ParserExpressionSizeLimit(MaxExprSize),
		ext.Strings(),
		ext.Math(),
	}
	opts = append(opts, builtins()...)
	if kind == Field {
		opts = append(opts,
			cel.Variable("value", cel.DynType),
			cel.Variable("name", cel.StringType),
			cel.Variable("fullName", cel.StringType),
			cel.Variable("typeName", cel.StringType),
			cel.Variable("tags", cel.ListType(cel.StringType)),
		)
	}
	env, err := cel.NewEnv(append(opts, extra...)...)
	if err != nil {
		return nil, fmt.Errorf("build CEL environment: %w", err)
	}
	return env, nil
}

var envs = sync.OnceValues(func() ([2]*cel.Env, error) {
	var out [2]*cel.Env
	for _, k := range []Kind{Message, Field} {
		env, err := NewEnv(k)
		if err != nil {
			return out, err
		}
		out[k] = env
	}
	return out, nil
})

// Env returns kind's shared environment; it is safe for concurrent use.
func Env(kind Kind) (*cel.Env, error) {
	e, err := envs()
	if err != nil {
		return nil, err
	}
	return e[kind], nil
}

// IgnoreGuard reports whether a cel.ignore.guard.separator value turns
// the separator off ("true" in any case, as Java's Boolean.parseBoolean).
func IgnoreGuard(param string) bool { return strings.EqualFold(strings.TrimSpace(param), "true") }

// Split separates "guard ; body" at the first ';'. guard is "" when there
// is none: no ';', a blank guard, or ignoreGuard (then body is expr).
func Split(expr string, ignoreGuard bool) (guard, body string) {
	if ignoreGuard {
		return "", expr
	}
	g, b, ok := strings.Cut(expr, ";")
	if !ok {
		return "", expr
	}
	if strings.TrimSpace(g) == "" {
		return "", b
	}
	return g, b
}

// ErrMissingExpr is Check's error for an expression (or the body after a
// guard) that is blank.
var ErrMissingExpr = errors.New("missing expression")

// CompileError is a guard or body that does not compile; its message is
// cel-go's, which names the line, column and problem.
type CompileError struct {
	Part string // "guard" or "expression"
	Expr string
	Err  error
}

func (e *CompileError) Error() string {
	return fmt.Sprintf("compile CEL %s %q: %v", e.Part, e.Expr, e.Err)
}

func (e *CompileError) Unwrap() error { return e.Err }

// Compile compiles one expression (a guard or a body, not both) in kind's
// environment; a failure is a *CompileError.
func Compile(kind Kind, expr string) (*cel.Ast, error) {
	return compileIn(kind, "expression", expr)
}

func compileIn(kind Kind, part, expr string) (*cel.Ast, error) {
	env, err := Env(kind)
	if err != nil {
		return nil, err
	}
	ast, iss := env.Compile(expr)
	if iss != nil && iss.Err() != nil {
		return nil, &CompileError{Part: part, Expr: expr, Err: iss.Err()}
	}
	return ast, nil
}

// Check compiles a rule's expression, its guard and body apart, the way
// both the registry (at registration) and the engine (Validate) check it.
// The error is ErrMissingExpr or a *CompileError; callers prefix the rule's
// name and keep the rest verbatim.
func Check(kind Kind, expr string, ignoreGuard bool) error {
	guard, body := Split(expr, ignoreGuard)
	if guard != "" {
		if _, err := compileIn(kind, "guard", guard); err != nil {
			return err
		}
	}
	if strings.TrimSpace(body) == "" {
		return ErrMissingExpr
	}
	_, err := compileIn(kind, "expression", body)
	return err
}
