package transform

import (
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"

	"github.com/sluicehq/sluice/runtime/connect"
)

// Connector config keys that declare transforms and predicates.
const (
	TransformsConfig = "transforms"
	PredicatesConfig = "predicates"
	// PredicateConfig and NegateConfig are the implicit per-transform keys
	// transforms.<alias>.predicate and transforms.<alias>.negate.
	PredicateConfig = "predicate"
	NegateConfig    = "negate"
)

// Chain is the ordered list of transformation stages of one connector
// task (Kafka's TransformationChain). It is used by one goroutine.
type Chain struct {
	stages []stage
}

// stage is one transform with its optional predicate (Kafka's
// TransformationStage).
type stage struct {
	alias     string
	class     string
	transform connect.Transform
	predicate connect.Predicate
	negate    bool
}

// StageError is the error of a transform that failed: Class is what the
// worker reports as __connect.errors.class.name.
type StageError struct {
	Alias string
	Class string
	Err   error
}

func (e *StageError) Error() string {
	return fmt.Sprintf("transformation %s (%s): %v", e.Alias, e.Class, e.Err)
}

func (e *StageError) Unwrap() error { return e.Err }

// Len returns the number of stages.
func (c *Chain) Len() int {
	if c == nil {
		return 0
	}
	return len(c.stages)
}

// Apply runs r through the stages in order. A stage whose predicate
// (negated when configured so) is false passes the record on unchanged;
// a stage that drops the record ends the chain with nil, nil. A failing
// stage returns a *StageError. A nil Chain returns r.
func (c *Chain) Apply(r *connect.Record) (*connect.Record, error) {
	if c == nil {
		return r, nil
	}
	for i := range c.stages {
		s := &c.stages[i]
		if s.predicate != nil && s.predicate.Test(r) == s.negate {
			continue
		}
		out, err := s.transform.Apply(r)
		if err != nil {
			return nil, &StageError{Alias: s.alias, Class: s.class, Err: err}
		}
		if out == nil {
			return nil, nil
		}
		r = out
	}
	return r, nil
}

// NewChain builds the chain a connector config declares: transforms lists
// the aliases in order, transforms.<alias>.type names a transformation
// plugin (class name or alias), the other transforms.<alias>.* keys
// configure it, and transforms.<alias>.predicate names one of the aliases
// listed in predicates, whose predicates.<alias>.* keys configure a
// predicate. Every stage gets fresh plugin instances; logger, when not nil,
// gives each instance that is a connect.LoggerSetter its logger, before
// Configure, from the instance's class. The error joins every problem
// found.
func NewChain(props map[string]string, plugins []connect.Plugin, logger func(class string) *slog.Logger) (*Chain, error) {
	var errs []error
	transforms, err := aliasList(props, TransformsConfig)
	errs = append(errs, err)
	predicateAliases, err := aliasList(props, PredicatesConfig)
	errs = append(errs, err)

	predicates := make(map[string]*connect.Plugin, len(predicateAliases))
	for _, alias := range predicateAliases {
		p, err := resolvePlugin(props, PredicatesConfig, alias, connect.PluginPredicate, plugins)
		if err == nil {
			// Configure one instance now so a bad predicate config is
			// reported even when no transform uses it.
			_, err = newPredicate(p, alias, props, logger)
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		predicates[alias] = p
	}

	c := &Chain{stages: make([]stage, 0, len(transforms))}
	for _, alias := range transforms {
		s, err := newStage(props, alias, predicates, plugins, logger)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		c.stages = append(c.stages, s)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return c, nil
}

func newStage(props map[string]string, alias string, predicates map[string]*connect.Plugin, plugins []connect.Plugin, logger func(string) *slog.Logger) (stage, error) {
	prefix := TransformsConfig + "." + alias + "."
	p, err := resolvePlugin(props, TransformsConfig, alias, connect.PluginTransformation, plugins)
	if err != nil {
		return stage{}, err
	}
	s := stage{alias: alias, class: p.Class}
	predAlias, hasPred := props[prefix+PredicateConfig]
	negate, hasNegate := props[prefix+NegateConfig]
	var errs []error
	if hasNegate && !hasPred {
		errs = append(errs, negateWithoutPredicate(prefix))
	}
	if hasNegate {
		v, err := connect.ParseConfigValue(connect.ConfigBoolean, negate)
		if err != nil {
			errs = append(errs, connect.NewConfigError(prefix+NegateConfig, "Invalid value %s for configuration %s: %s", negate, prefix+NegateConfig, err))
		} else {
			s.negate = v.(bool)
		}
	}
	if hasPred {
		predAlias = strings.TrimSpace(predAlias)
		if pp, ok := predicates[predAlias]; !ok {
			errs = append(errs, connect.NewConfigError(prefix+PredicateConfig, "Unknown configuration '%s.%s.type'", PredicatesConfig, predAlias))
		} else if s.predicate, err = newPredicate(pp, predAlias, props, logger); err != nil {
			errs = append(errs, err)
		}
	}
	if p.NewTransform == nil {
		return stage{}, connect.NewConfigError(prefix+"type", "%s is not a Transformation", p.Class)
	}
	t := p.NewTransform()
	connect.SetPluginLogger(t, pluginLogger(logger, p.Class))
	sub := withPrefix(props, prefix)
	delete(sub, PredicateConfig)
	delete(sub, NegateConfig)
	if err := t.Configure(sub); err != nil {
		errs = append(errs, fmt.Errorf("configure transformation %s (%s): %w", alias, p.Class, err))
	}
	s.transform = t
	return s, errors.Join(errs...)
}

func newPredicate(p *connect.Plugin, alias string, props map[string]string, logger func(string) *slog.Logger) (connect.Predicate, error) {
	if p.NewPredicate == nil {
		return nil, connect.NewConfigError(PredicatesConfig+"."+alias+".type", "%s is not a Predicate", p.Class)
	}
	pred := p.NewPredicate()
	connect.SetPluginLogger(pred, pluginLogger(logger, p.Class))
	if err := pred.Configure(withPrefix(props, PredicatesConfig+"."+alias+".")); err != nil {
		return nil, fmt.Errorf("configure predicate %s (%s): %w", alias, p.Class, err)
	}
	return pred, nil
}

// pluginLogger is the logger of a plugin instance of class, or nil.
func pluginLogger(logger func(string) *slog.Logger, class string) *slog.Logger {
	if logger == nil {
		return nil
	}
	return logger(class)
}

func negateWithoutPredicate(prefix string) error {
	return connect.NewConfigError(prefix+NegateConfig, "Config '%s' was provided but there is no config '%s' defining a predicate to be negated.",
		prefix+NegateConfig, prefix+PredicateConfig)
}

// aliasList parses the transforms or predicates list; a repeated alias is
// an error, as in Kafka.
func aliasList(props map[string]string, key string) ([]string, error) {
	v, _ := connect.ParseConfigValue(connect.ConfigList, props[key])
	aliases := v.([]string)
	unique := make([]string, 0, len(aliases))
	for _, a := range aliases {
		if !slices.Contains(unique, a) {
			unique = append(unique, a)
		}
	}
	if len(unique) < len(aliases) {
		return unique, connect.NewConfigError(key, "Invalid value %s for configuration %s: Duplicate alias provided.",
			strings.TrimSpace(props[key]), key)
	}
	return aliases, nil
}

// resolvePlugin finds the plugin <kind>.<alias>.type names.
func resolvePlugin(props map[string]string, kind, alias string, typ connect.PluginType, plugins []connect.Plugin) (*connect.Plugin, error) {
	key := kind + "." + alias + ".type"
	name, ok := props[key]
	if !ok {
		return nil, connect.NewConfigError(key, "Missing required configuration %q which has no default value.", key)
	}
	name = strings.TrimSpace(name)
	p := connect.FindPlugin(plugins, typ, name)
	if p == nil {
		return nil, connect.NewConfigError(key, "Invalid value %s for configuration %s: Class %s could not be found.", name, key, name)
	}
	return p, nil
}

// withPrefix returns the keys starting with prefix, prefix stripped
// (Kafka's originalsWithPrefix).
func withPrefix(props map[string]string, prefix string) map[string]string {
	out := make(map[string]string)
	for k, v := range props {
		if rest, ok := strings.CutPrefix(k, prefix); ok {
			out[rest] = v
		}
	}
	return out
}
