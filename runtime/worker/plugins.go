package worker

import (
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strings"

	"github.com/sluicehq/sluice/runtime/connect"
)

// Plugins is the set of plugins a worker can run: connectors, and the
// converters, header converters, transforms and predicates.
type Plugins struct {
	Connectors []connect.ConnectorPlugin
	Others     []connect.Plugin
}

// Connector returns the connector plugin class names, or nil.
func (p Plugins) Connector(name string) *connect.ConnectorPlugin {
	for i := range p.Connectors {
		if connect.MatchesClass(p.Connectors[i].Class, p.Connectors[i].Aliases, name) {
			return &p.Connectors[i]
		}
	}
	return nil
}

// Find returns a plugin of type typ by class name or alias, or nil.
func (p Plugins) Find(typ connect.PluginType, name string) *connect.Plugin {
	return connect.FindPlugin(p.Others, typ, name)
}

// Infos lists the plugins as GET /connector-plugins does, sorted by class.
func (p Plugins) Infos(connectorsOnly bool) []PluginInfo {
	var out []PluginInfo
	for _, c := range p.Connectors {
		out = append(out, PluginInfo{Class: c.Class, Type: string(c.Type()), Version: c.Version})
	}
	if !connectorsOnly {
		for _, o := range p.Others {
			out = append(out, PluginInfo{Class: o.Class, Type: string(o.Type), Version: o.Version})
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Type != out[j].Type && (connectorsOnly || isConnectorType(out[i].Type) != isConnectorType(out[j].Type)) {
			return isConnectorType(out[i].Type)
		}
		return out[i].Class < out[j].Class
	})
	return out
}

func isConnectorType(t string) bool {
	return t == string(connect.PluginSource) || t == string(connect.PluginSink)
}

// availableConnectors lists connector classes for error messages.
func (p Plugins) availableConnectors() string {
	var names []string
	for _, c := range p.Connectors {
		names = append(names, c.Class)
	}
	slices.Sort(names)
	return strings.Join(names, ", ")
}

// converters are one task's converter instances.
type converters struct {
	key, value                        connect.Converter
	header                            connect.HeaderConverter
	keyClass, valueClass, headerClass string
}

// newConverters instantiates and configures a task's converters from the
// connector config, falling back to the worker's: connector-level
// key.converter.* keys configure a connector-level converter, worker-level
// ones the worker's (as Kafka).
// logger, when not nil, gives each converter that is a
// connect.LoggerSetter its logger, from its class, before Configure.
func (p Plugins) newConverters(worker, conn map[string]string, logger func(class string) *slog.Logger) (converters, error) {
	var c converters
	var err error
	if c.key, c.keyClass, err = p.converter(worker, conn, KeyKeyConverter, true, logger); err != nil {
		return c, err
	}
	if c.value, c.valueClass, err = p.converter(worker, conn, KeyValueConverter, false, logger); err != nil {
		return c, err
	}
	props, class := converterProps(worker, conn, KeyHeaderConverter)
	pl := p.Find(connect.PluginHeaderConverter, class)
	if pl == nil {
		return c, fmt.Errorf("%s: no header converter named %s", KeyHeaderConverter, class)
	}
	if pl.NewHeaderConverter == nil {
		return c, fmt.Errorf("%s: %s is not a header converter", KeyHeaderConverter, class)
	}
	h := pl.NewHeaderConverter()
	connect.SetPluginLogger(h, classLogger(logger, pl.Class))
	props["converter.type"] = "header"
	if err := h.Configure(props); err != nil {
		return c, fmt.Errorf("configure %s %s: %w", KeyHeaderConverter, class, err)
	}
	c.header, c.headerClass = h, pl.Class
	return c, nil
}

func (p Plugins) converter(worker, conn map[string]string, key string, isKey bool, logger func(string) *slog.Logger) (connect.Converter, string, error) {
	props, class := converterProps(worker, conn, key)
	pl := p.Find(connect.PluginConverter, class)
	if pl == nil {
		return nil, "", fmt.Errorf("%s: no converter named %s", key, class)
	}
	if pl.NewConverter == nil {
		return nil, "", fmt.Errorf("%s: %s is not a converter", key, class)
	}
	c := pl.NewConverter()
	connect.SetPluginLogger(c, classLogger(logger, pl.Class))
	if isKey {
		props["converter.type"] = "key"
	} else {
		props["converter.type"] = "value"
	}
	if err := c.Configure(props, isKey); err != nil {
		return nil, "", fmt.Errorf("configure %s %s: %w", key, class, err)
	}
	return c, pl.Class, nil
}

// classLogger is the logger of a plugin instance of class, or nil.
func classLogger(logger func(string) *slog.Logger, class string) *slog.Logger {
	if logger == nil {
		return nil
	}
	return logger(class)
}

// converterProps picks the converter class and its prefixed settings from
// the connector config when it names one, else from the worker config.
func converterProps(worker, conn map[string]string, key string) (map[string]string, string) {
	src := worker
	class := worker[key]
	if v := strings.TrimSpace(conn[key]); v != "" {
		src, class = conn, v
	}
	if class == "" {
		for _, k := range ConfigDef {
			if k.Name == key {
				class, _ = k.DefaultString()
			}
		}
	}
	props := map[string]string{}
	prefix := key + "."
	for k, v := range src {
		if rest, ok := strings.CutPrefix(k, prefix); ok {
			props[rest] = v
		}
	}
	return props, strings.TrimSpace(class)
}
