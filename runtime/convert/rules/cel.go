package rules

import (
	"fmt"
	"reflect"
	"sync"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/cost"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
	"cel.dev/cel-go/interpreter"

	"github.com/sluicehq/sluice/internal/celrules"
)

// envKind is the CEL environment a rule runs in: internal/celrules', the
// one the registry checks rules with, plus skipVar. Every variable is dyn
// or a string: a Connect value's shape is only known per record, so one
// compiled program serves every schema (Confluent's clients declare types
// from the bound values instead; a rule that reads a missing field fails
// at evaluation here rather than at compilation there).
type envKind = celrules.Kind

const (
	envMessage = celrules.Message
	envField   = celrules.Field
)

const (
	// DefaultCostLimit bounds one evaluation (CEL's cost units: roughly one
	// per operation, more for string and list work proportional to size).
	DefaultCostLimit = 1_000_000
	// DefaultCacheSize bounds the compiled programs kept.
	DefaultCacheSize = 1000
)

// programs compiles expressions once per (environment, text) and keeps at
// most size of them; a compile error is kept too, so a bad rule does not
// cost a compilation per record.
type programs struct {
	envs      [2]*cel.Env
	costLimit uint64
	size      int

	mu    sync.RWMutex
	cache map[progKey]compiled
}

// progKey names a program: expr, or with guard != "" the combined
// "(guard) ? (expr) : skip" (kept apart so a lookup builds no string).
type progKey struct {
	kind  envKind
	guard string
	expr  string
}

type compiled struct {
	prg cel.Program
	err error
}

func newPrograms(costLimit uint64, size int) (*programs, error) {
	p := &programs{costLimit: costLimit, size: size, cache: make(map[progKey]compiled)}
	for _, k := range []envKind{envMessage, envField} {
		env, err := celrules.NewEnv(k, cel.Variable(skipVar, cel.DynType))
		if err != nil {
			return nil, err
		}
		p.envs[k] = env
	}
	return p, nil
}

func (p *programs) get(kind envKind, expr string) (cel.Program, error) {
	return p.getGuarded(kind, "", expr)
}

// getGuarded is the program "(guard) ? (expr) : skip", or expr when guard
// is "".
func (p *programs) getGuarded(kind envKind, guard, expr string) (cel.Program, error) {
	key := progKey{kind, guard, expr}
	p.mu.RLock()
	c, ok := p.cache[key]
	p.mu.RUnlock()
	if ok {
		return c.prg, c.err
	}
	text := expr
	if guard != "" {
		text = "(" + guard + ") ? (" + expr + ") : " + skipVar
	}
	c.prg, c.err = p.compile(kind, text)
	p.mu.Lock()
	if len(p.cache) >= p.size {
		// Bounded: drop an arbitrary entry. Rule sets are small and stable,
		// so eviction only happens under churn, where any victim will do.
		for k := range p.cache {
			delete(p.cache, k)
			break
		}
	}
	p.cache[key] = c
	p.mu.Unlock()
	return c.prg, c.err
}

func (p *programs) compile(kind envKind, expr string) (cel.Program, error) {
	env := p.envs[kind]
	ast, iss := env.Compile(expr)
	if iss != nil && iss.Err() != nil {
		return nil, &celrules.CompileError{Part: "expression", Expr: expr, Err: iss.Err()}
	}
	opts := []cel.ProgramOption{cel.EvalOptions(cel.OptOptimize)}
	if est, err := env.EstimateCost(ast, boundedSizes{}); err != nil || est.Max > p.costLimit {
		opts = append(opts, cel.CostLimit(p.costLimit))
	}
	prg, err := env.Program(ast, opts...)
	if err != nil {
		return nil, fmt.Errorf("plan CEL expression %q: %w", expr, err)
	}
	return prg, nil
}

// skipVar names the variable a guarded expression returns when its guard
// is false; it is bound to skipSentinel.
const skipVar = "__sluice_guard_skipped__"

var skipSentinel ref.Val = skipValue{}

type skipValue struct{}

func (skipValue) ConvertToNative(reflect.Type) (any, error) {
	return nil, fmt.Errorf("a skipped guard has no value")
}
func (skipValue) ConvertToType(ref.Type) ref.Val { return types.NewErr("a skipped guard has no value") }
func (skipValue) Equal(o ref.Val) ref.Val        { return types.Bool(o == skipSentinel) }
func (skipValue) Type() ref.Type                 { return types.NullType }
func (skipValue) Value() any                     { return nil }

// boundedSizes lets CEL's static cost estimate assume that no string, list
// or map in a record is larger than assumedMaxSize. An expression whose
// estimate stays under the cost limit then does at most linear work in the
// size of its inputs (anything superlinear would exceed the limit at that
// size), which the record's own size bounds, so it runs without the
// per-operation cost tracking (a third of a small rule's time); any other
// expression is tracked and stopped at the limit.
type boundedSizes struct{}

const assumedMaxSize = 1 << 20

func (boundedSizes) EstimateCallCost(string, string, *cost.AstNode, []cost.AstNode) *cost.CallEstimate {
	return nil
}

func (boundedSizes) EstimateSize(n cost.AstNode) *cost.SizeEstimate {
	if n.ComputedSize() != nil {
		return nil
	}
	return &cost.SizeEstimate{Min: 0, Max: assumedMaxSize}
}

// eval runs expr, or its guard first when it has one ("guard ; body"): a
// guard that is not true (false, not a bool, or an error) skips the body,
// and then a condition passes and a transform leaves its input alone
// (skipped reports it).
func (p *programs) eval(kind envKind, r *Rule, md *Metadata, act interpreter.Activation) (out ref.Val, skipped bool, err error) {
	guard, expr := celrules.Split(r.Expr, celrules.IgnoreGuard(Param(r, md, ParamIgnoreGuard)))
	if guard != "" {
		// One evaluation of "(guard) ? (body) : skip" in the common case;
		// an error (the guard's or the body's) or a guard that does not
		// compile as a condition takes the two-step path, which tells
		// them apart.
		if prg, err := p.getGuarded(kind, guard, expr); err == nil {
			if out, _, err := prg.Eval(act); err == nil {
				return out, out == skipSentinel, nil
			}
		}
		g, err := p.run(kind, guard, act)
		if err != nil || g != types.True {
			return nil, true, nil
		}
	}
	out, err = p.run(kind, expr, act)
	return out, false, err
}

// run evaluates expr. The cost limit bounds it, so it needs no context
// (cel-go's ContextEval costs a goroutine-safe cancel context per call,
// more than a small expression itself); Execute checks the context
// between rules.
func (p *programs) run(kind envKind, expr string, act interpreter.Activation) (ref.Val, error) {
	prg, err := p.get(kind, expr)
	if err != nil {
		return nil, err
	}
	out, _, err := prg.Eval(act)
	if err != nil {
		return nil, fmt.Errorf("evaluate CEL expression %q: %w", expr, err)
	}
	return out, nil
}
