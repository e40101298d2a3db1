package kit

import (
	"time"

	"github.com/sluicehq/sluice/runtime/connect"
)

// Key is a config key declared with its Go type, so that declaring and
// reading it is one line each and reading it as the wrong type does not
// compile:
//
//	var batchSize = kit.Int("batch.size", 100, connect.Medium, "Records per batch.")
//	var Config = kit.Def(batchSize, ...)      // the connector's ConfigDef
//	n := batchSize.Get(cfg)                   // an int64
//
// Key is a value; declare keys once, as package variables.
type Key[T any] struct {
	key connect.ConfigKey
	get func(connect.Config, string) T
}

// Key returns the declaration, for a connect.ConfigDef.
func (k Key[T]) Key() connect.ConfigKey { return k.key }

// Name returns the key's name.
func (k Key[T]) Name() string { return k.key.Name }

// Get returns the key's value in cfg: what was set, else the default; the
// zero value for a null one. It panics when cfg's definition did not
// declare the key, a programming error, as connect.Config's getters do.
func (k Key[T]) Get(cfg connect.Config) T { return k.get(cfg, k.key.Name) }

// IsNull reports whether the key is unset in cfg with a null default.
func (k Key[T]) IsNull(cfg connect.Config) bool { return cfg.IsNull(k.key.Name) }

// Declared is anything that declares a config key: every Key.
type Declared interface{ Key() connect.ConfigKey }

// Def returns the definition of keys, in order.
func Def(keys ...Declared) connect.ConfigDef {
	def := make(connect.ConfigDef, len(keys))
	for i, k := range keys {
		def[i] = k.Key()
	}
	return def
}

// Option sets more of a key's declaration.
type Option func(*connect.ConfigKey)

// Validate checks the parsed value with v.
func Validate(v connect.Validator) Option { return func(k *connect.ConfigKey) { k.Validator = v } }

// Required makes the key have no default: Parse refuses a config without it.
func Required() Option { return func(k *connect.ConfigKey) { k.Default = connect.NoDefault } }

// NullDefault makes the key's default null: unset, IsNull holds and Get
// returns the zero value.
func NullDefault() Option { return func(k *connect.ConfigKey) { k.Default = nil } }

// Group places the key in a group of the docs and the validate answer.
func Group(name string, order int) Option {
	return func(k *connect.ConfigKey) { k.Group, k.OrderInGroup = name, order }
}

// Display sets the name the validate answer shows.
func Display(name string) Option { return func(k *connect.ConfigKey) { k.DisplayName = name } }

// Width sets the display width hint.
func Width(w connect.Width) Option { return func(k *connect.ConfigKey) { k.Width = w } }

// Dependents names the keys whose meaning depends on this one.
func Dependents(names ...string) Option { return func(k *connect.ConfigKey) { k.Dependents = names } }

func declare[T any](name string, typ connect.ConfigType, def any, imp connect.Importance, doc string,
	get func(connect.Config, string) T, opts []Option) Key[T] {
	k := connect.ConfigKey{Name: name, Type: typ, Default: def, Importance: imp, Doc: doc}
	for _, o := range opts {
		o(&k)
	}
	return Key[T]{key: k, get: get}
}

// String declares a STRING key.
func String(name, def string, imp connect.Importance, doc string, opts ...Option) Key[string] {
	return declare(name, connect.ConfigString, def, imp, doc, connect.Config.String, opts)
}

// Password declares a PASSWORD key, null by default: its value is hidden
// outside the worker.
func Password(name string, imp connect.Importance, doc string, opts ...Option) Key[string] {
	return declare(name, connect.ConfigPassword, nil, imp, doc, connect.Config.String, opts)
}

// Class declares a CLASS key.
func Class(name, def string, imp connect.Importance, doc string, opts ...Option) Key[string] {
	return declare(name, connect.ConfigClass, def, imp, doc, connect.Config.String, opts)
}

// Int declares an INT key (32 bits in the config, int64 in Go).
func Int(name string, def int64, imp connect.Importance, doc string, opts ...Option) Key[int64] {
	return declare(name, connect.ConfigInt, def, imp, doc, connect.Config.Int, opts)
}

// Long declares a LONG key.
func Long(name string, def int64, imp connect.Importance, doc string, opts ...Option) Key[int64] {
	return declare(name, connect.ConfigLong, def, imp, doc, connect.Config.Int, opts)
}

// Double declares a DOUBLE key.
func Double(name string, def float64, imp connect.Importance, doc string, opts ...Option) Key[float64] {
	return declare(name, connect.ConfigDouble, def, imp, doc, connect.Config.Double, opts)
}

// Bool declares a BOOLEAN key.
func Bool(name string, def bool, imp connect.Importance, doc string, opts ...Option) Key[bool] {
	return declare(name, connect.ConfigBoolean, def, imp, doc, connect.Config.Bool, opts)
}

// List declares a LIST key; a nil def is a null default.
func List(name string, def []string, imp connect.Importance, doc string, opts ...Option) Key[[]string] {
	var d any = def
	if def == nil {
		d = nil
	}
	return declare(name, connect.ConfigList, d, imp, doc, connect.Config.List, opts)
}

// Millis declares a LONG key counted in milliseconds (the ".ms" keys),
// read as a time.Duration.
func Millis(name string, def time.Duration, imp connect.Importance, doc string, opts ...Option) Key[time.Duration] {
	return declare(name, connect.ConfigLong, def.Milliseconds(), imp, doc, func(c connect.Config, n string) time.Duration {
		return time.Duration(c.Int(n)) * time.Millisecond
	}, opts)
}
