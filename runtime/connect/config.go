package connect

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/sluicehq/sluice/internal/javafmt"
)

// ConfigType is a config key's type, spelled as Kafka's ConfigDef.Type.
type ConfigType string

// The config types.
const (
	ConfigBoolean  ConfigType = "BOOLEAN"
	ConfigString   ConfigType = "STRING"
	ConfigInt      ConfigType = "INT"
	ConfigShort    ConfigType = "SHORT"
	ConfigLong     ConfigType = "LONG"
	ConfigDouble   ConfigType = "DOUBLE"
	ConfigList     ConfigType = "LIST"
	ConfigClass    ConfigType = "CLASS"
	ConfigPassword ConfigType = "PASSWORD"
)

// Importance is a config key's importance.
type Importance string

// The importances.
const (
	High   Importance = "HIGH"
	Medium Importance = "MEDIUM"
	Low    Importance = "LOW"
)

// Width is the display width hint Kafka carries in ConfigKeyInfo.
type Width string

// The widths.
const (
	WidthNone   Width = "NONE"
	WidthShort  Width = "SHORT"
	WidthMedium Width = "MEDIUM"
	WidthLong   Width = "LONG"
)

type noDefault struct{}

// NoDefault as a ConfigKey's Default makes the key required.
var NoDefault any = noDefault{}

// HiddenPassword is how PASSWORD values are shown outside the worker.
const HiddenPassword = "[hidden]"

// ErrConfig is matched by every configuration error (Kafka's
// ConfigException): errors.Is(err, ErrConfig).
var ErrConfig = errors.New("invalid configuration")

// ConfigError is a configuration error about one key; its message is
// Kafka's, without a prefix, so it can be shown to users as is.
type ConfigError struct {
	Key string
	Msg string
}

func (e *ConfigError) Error() string { return e.Msg }

// Is makes errors.Is(err, ErrConfig) hold.
func (e *ConfigError) Is(target error) bool { return target == ErrConfig }

// NewConfigError returns a ConfigError for key.
func NewConfigError(key, format string, args ...any) error {
	return &ConfigError{Key: key, Msg: fmt.Sprintf(format, args...)}
}

// A Validator checks a parsed, typed value (nil when the key is unset with
// a null default) and returns a message saying what is wrong, or "".
type Validator interface {
	Validate(name string, v any) string
	// String describes the valid values for the docs ("[1,...]").
	String() string
}

// ConfigKey declares one config key: its type, default, validator and docs.
// A connector, converter or transform declares its keys once; parsing, the
// REST /config and /config/validate answers and the README tables all come
// from the declaration.
type ConfigKey struct {
	Name string
	Type ConfigType
	// Default is the default as a Go value of the key's type (string, int,
	// int64, float64, bool, []string), nil for a null default, or NoDefault
	// for a required key.
	Default      any
	Validator    Validator
	Importance   Importance
	Doc          string
	Group        string
	OrderInGroup int
	Width        Width
	DisplayName  string
	Dependents   []string
	// Unsupported, when not empty, declares a key that users bring from the
	// connector this one stands in for (a Debezium or Confluent key) but
	// that Sluice does not honour, and says why or what to do instead.
	// Setting it to a non-blank value is a validation error, "<name> is not
	// supported by Sluice: <Unsupported>", so a create is refused rather
	// than the setting silently ignored; unset or blank, it parses to its
	// Default (normally nil).
	Unsupported string
}

// Required reports whether the key has no default.
func (k *ConfigKey) Required() bool { return k.Default == NoDefault }

// DefaultString renders the default as Kafka's ConfigDef.convertToString;
// ok is false for a required key or a null default.
func (k *ConfigKey) DefaultString() (s string, ok bool) {
	if k.Default == nil || k.Required() {
		return "", false
	}
	return FormatConfigValue(k.Type, k.Default), true
}

// ConfigDef is an ordered set of config keys.
type ConfigDef []ConfigKey

// Key returns the named key, or nil.
func (d ConfigDef) Key(name string) *ConfigKey {
	for i := range d {
		if d[i].Name == name {
			return &d[i]
		}
	}
	return nil
}

// With returns a new definition with more keys appended.
func (d ConfigDef) With(keys ...ConfigKey) ConfigDef {
	return append(slices.Clip(d), keys...)
}

// ConfigValue is the validation result for one key, as Kafka's
// ConfigValue: the raw value, recommended values and every error found.
type ConfigValue struct {
	Name              string
	Value             string
	HasValue          bool
	RecommendedValues []string
	Errors            []string
	Visible           bool
}

// AddError adds msg to the errors of key's result and returns results. A
// key without a result (one the definition does not declare, such as one
// of a family named by a pattern) gets one of its own, which the worker
// reports under a null definition with the submitted value, as Kafka's
// validate does. A ConnectorValidator uses it to report what it finds:
//
//	results = connect.AddError(results, "slot.name", "slot sluice is in use")
func AddError(results []ConfigValue, key, msg string) []ConfigValue {
	for i := range results {
		if results[i].Name == key {
			results[i].Errors = append(results[i].Errors, msg)
			return results
		}
	}
	return append(results, ConfigValue{Name: key, Errors: []string{msg}, Visible: true})
}

// Validate checks props against the definition and returns one result per
// declared key (in declaration order). Undeclared keys are ignored, as
// Kafka does.
func (d ConfigDef) Validate(props map[string]string) []ConfigValue {
	out := make([]ConfigValue, 0, len(d))
	for i := range d {
		k := &d[i]
		cv := ConfigValue{Name: k.Name, Visible: true}
		raw, set := props[k.Name]
		if set {
			cv.Value, cv.HasValue = raw, true
		} else if s, ok := k.DefaultString(); ok {
			cv.Value, cv.HasValue = s, true
		}
		if _, err := k.parse(raw, set); err != nil {
			cv.Errors = append(cv.Errors, err.Error())
		}
		out = append(out, cv)
	}
	return out
}

// Parse validates props and returns the typed values; the error joins a
// message for every key that is wrong.
func (d ConfigDef) Parse(props map[string]string) (Config, error) {
	vals := make(map[string]any, len(d))
	var errs []error
	for i := range d {
		k := &d[i]
		raw, set := props[k.Name]
		v, err := k.parse(raw, set)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		vals[k.Name] = v
	}
	return Config{values: vals, raw: props}, errors.Join(errs...)
}

// parse returns the typed value of one key, its default when unset.
func (k *ConfigKey) parse(raw string, set bool) (any, error) {
	if k.Unsupported != "" {
		if set && strings.TrimSpace(raw) != "" {
			return nil, NewConfigError(k.Name, "%s is not supported by Sluice: %s", k.Name, k.Unsupported)
		}
		set = false // blank asks for nothing
	}
	var v any
	if !set {
		if k.Required() {
			return nil, NewConfigError(k.Name, "Missing required configuration %q which has no default value.", k.Name)
		}
		v = normalizeDefault(k.Type, k.Default)
	} else {
		var err error
		if v, err = ParseConfigValue(k.Type, raw); err != nil {
			return nil, NewConfigError(k.Name, "Invalid value %s for configuration %s: %s", raw, k.Name, err.Error())
		}
	}
	if k.Validator != nil {
		if msg := k.Validator.Validate(k.Name, v); msg != "" {
			shown := raw
			if !set {
				shown = FormatConfigValue(k.Type, v)
			}
			if k.Type == ConfigPassword {
				shown = HiddenPassword
			}
			return nil, NewConfigError(k.Name, "Invalid value %s for configuration %s: %s", shown, k.Name, msg)
		}
	}
	return v, nil
}

func normalizeDefault(t ConfigType, v any) any {
	if s, ok := v.(string); ok && t != ConfigString && t != ConfigClass && t != ConfigPassword {
		// A default written as config text ("a,b" for a LIST, "10" for an
		// INT) parses like a value.
		if parsed, err := ParseConfigValue(t, s); err == nil {
			return parsed
		}
	}
	switch t {
	case ConfigInt, ConfigShort, ConfigLong:
		switch n := v.(type) {
		case int:
			return int64(n)
		case int32:
			return int64(n)
		}
	case ConfigDouble:
		if n, ok := v.(int); ok {
			return float64(n)
		}
	}
	return v
}

// ParseConfigValue parses a string as Kafka's ConfigDef.parseType does.
// Integer types parse to int64, LIST to []string, others to their Go type.
func ParseConfigValue(t ConfigType, raw string) (any, error) {
	s := strings.TrimSpace(raw)
	switch t {
	case ConfigBoolean:
		switch strings.ToLower(s) {
		case "true":
			return true, nil
		case "false":
			return false, nil
		}
		return nil, errors.New("Expected value to be either true or false")
	case ConfigString, ConfigClass:
		return s, nil
	case ConfigPassword:
		return raw, nil
	case ConfigInt, ConfigShort, ConfigLong:
		bits := map[ConfigType]int{ConfigInt: 32, ConfigShort: 16, ConfigLong: 64}[t]
		n, err := strconv.ParseInt(s, 10, bits)
		if err != nil {
			return nil, fmt.Errorf("Not a number of type %s", t)
		}
		return n, nil
	case ConfigDouble:
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil, fmt.Errorf("Not a number of type %s", t)
		}
		return f, nil
	case ConfigList:
		if s == "" {
			return []string{}, nil
		}
		parts := strings.Split(s, ",")
		for i := range parts {
			parts[i] = strings.TrimSpace(parts[i])
		}
		return parts, nil
	}
	return nil, fmt.Errorf("unknown config type %s", t)
}

// FormatConfigValue renders a typed value as a config string.
func FormatConfigValue(t ConfigType, v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case []string:
		return strings.Join(x, ",")
	case string:
		return x
	case float64:
		return javafmt.Double(x) // Kafka's convertToString: Double.toString, "0.0", "1.0E10"
	}
	return fmt.Sprint(v)
}

// Config holds parsed, typed config values; the getters panic on a key the
// definition did not declare, which is a programming error.
type Config struct {
	values map[string]any
	raw    map[string]string
}

func (c Config) get(name string) any {
	v, ok := c.values[name]
	if !ok {
		panic("connect: config key " + name + " was not declared")
	}
	return v
}

// String returns a STRING, CLASS or PASSWORD value ("" for null).
func (c Config) String(name string) string {
	s, _ := c.get(name).(string)
	return s
}

// Int returns an INT, SHORT or LONG value.
func (c Config) Int(name string) int64 {
	n, _ := c.get(name).(int64)
	return n
}

// Double returns a DOUBLE value.
func (c Config) Double(name string) float64 {
	f, _ := c.get(name).(float64)
	return f
}

// Bool returns a BOOLEAN value.
func (c Config) Bool(name string) bool {
	b, _ := c.get(name).(bool)
	return b
}

// List returns a LIST value.
func (c Config) List(name string) []string {
	l, _ := c.get(name).([]string)
	return l
}

// IsNull reports whether the key is unset with a null default.
func (c Config) IsNull(name string) bool { return c.get(name) == nil }

// Raw returns the original properties.
func (c Config) Raw() map[string]string { return c.raw }

// Range accepts numbers in [Min, Max]; either bound may be absent.
type Range struct {
	Min, Max       float64
	HasMin, HasMax bool
}

// AtLeast returns a Range with only a lower bound.
func AtLeast(min float64) Range { return Range{Min: min, HasMin: true} }

// Between returns a Range with both bounds.
func Between(min, max float64) Range { return Range{Min: min, Max: max, HasMin: true, HasMax: true} }

// Validate implements Validator.
func (r Range) Validate(_ string, v any) string {
	var f float64
	switch n := v.(type) {
	case nil:
		return "Value must be non-null"
	case int64:
		f = float64(n)
	case float64:
		f = n
	default:
		return ""
	}
	if r.HasMin && f < r.Min {
		return "Value must be at least " + fmtNum(r.Min)
	}
	if r.HasMax && f > r.Max {
		return "Value must be no more than " + fmtNum(r.Max)
	}
	return ""
}

func (r Range) String() string {
	lo, hi := "...", "..."
	if r.HasMin {
		lo = fmtNum(r.Min)
	}
	if r.HasMax {
		hi = fmtNum(r.Max)
	}
	return "[" + lo + "," + hi + "]"
}

func fmtNum(f float64) string {
	if f == math.Trunc(f) && math.Abs(f) < 1e18 {
		return strconv.FormatInt(int64(f), 10)
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}

// OneOf accepts the listed strings; CaseInsensitive compares ignoring case
// (Kafka's ValidString and CaseInsensitiveValidString).
type OneOf struct {
	Values          []string
	CaseInsensitive bool
}

// Validate implements Validator.
func (o OneOf) Validate(_ string, v any) string {
	s, _ := v.(string)
	for _, x := range o.Values {
		if x == s || (o.CaseInsensitive && strings.EqualFold(x, s)) {
			return ""
		}
	}
	return "String must be one of: " + strings.Join(o.Values, ", ")
}

func (o OneOf) String() string { return "[" + strings.Join(o.Values, ", ") + "]" }

// NonEmpty rejects an empty string or list.
type NonEmpty struct{}

// Validate implements Validator.
func (NonEmpty) Validate(_ string, v any) string {
	switch x := v.(type) {
	case nil:
		return "String may not be null"
	case string:
		if x == "" {
			return "String must be non-empty"
		}
	case []string:
		if len(x) == 0 {
			return "Empty list"
		}
	}
	return ""
}

func (NonEmpty) String() string { return "non-empty string" }

// ValidRegex accepts a string (or each list element) that compiles as a
// regular expression.
type ValidRegex struct{}

// Validate implements Validator.
func (ValidRegex) Validate(_ string, v any) string {
	items, ok := v.([]string)
	if !ok {
		s, _ := v.(string)
		items = []string{s}
	}
	for _, s := range items {
		if _, err := regexp.Compile(s); err != nil {
			return "Invalid regex: " + err.Error()
		}
	}
	return ""
}

func (ValidRegex) String() string { return "valid regex" }

// ValidatorFunc adapts a function to Validator.
type ValidatorFunc struct {
	Fn   func(name string, v any) string
	Desc string
}

// Validate implements Validator.
func (f ValidatorFunc) Validate(name string, v any) string { return f.Fn(name, v) }

func (f ValidatorFunc) String() string { return f.Desc }
