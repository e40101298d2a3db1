package worker

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"unicode"

	"github.com/sluicehq/sluice/runtime/connect"
	"github.com/sluicehq/sluice/runtime/transform"
)

// validation is the full result of validating one connector config.
type validation struct {
	infos  ConfigInfos
	def    connect.ConfigDef // every key that applies, for hiding passwords
	errors []string          // "key: message" lines for the 400 message
}

// validate checks a connector config as Kafka's
// AbstractHerder.validateConnectorConfig: the common keys, the
// connector's own keys, transforms and predicates, converters, and the
// connector's own Validate.
func (h *Herder) validate(ctx context.Context, props map[string]string) (validation, error) {
	class := strings.TrimSpace(props[KeyConnectorClass])
	if class == "" {
		return validation{}, fmt.Errorf("%w: Connector config %v contains no connector type", ErrBadRequest, redactAll(props))
	}
	plugin := h.plugins.Connector(class)
	if plugin == nil {
		return validation{}, fmt.Errorf("%w: Failed to find any class that implements Connector and which name matches %s, available connectors are: %s",
			ErrBadRequest, class, h.plugins.availableConnectors())
	}
	sink := plugin.Type() == connect.PluginSink
	common := sourceConfigDef
	if sink {
		common = sinkConfigDef
	}
	tdef, tgroups := transform.ConfigDef(props, h.plugins.Others)
	def := slices.Concat(common, plugin.Config, tdef)

	resolved, resolveErr := h.providers.resolve(props)
	if resolveErr != nil {
		resolved = props
	}
	values := def.Validate(resolved)
	if sink {
		for k, msg := range sinkTopicsErrors(resolved) {
			values = connect.AddError(values, k, msg)
		}
	}
	if name, ok := props[KeyName]; ok {
		if msg := nameError(name); msg != "" {
			values = connect.AddError(values, KeyName, msg)
		}
	}
	for _, k := range []string{KeyKeyConverter, KeyValueConverter, KeyHeaderConverter} {
		if v := strings.TrimSpace(props[k]); v != "" {
			typ := connect.PluginConverter
			if k == KeyHeaderConverter {
				typ = connect.PluginHeaderConverter
			}
			if h.plugins.Find(typ, v) == nil {
				values = connect.AddError(values, k, fmt.Sprintf("Invalid value %s for configuration %s: Class %s could not be found.", v, k, v))
			}
		}
	}
	if resolveErr != nil {
		values = connect.AddError(values, KeyConnectorClass, resolveErr.Error())
	}
	if !sink && h.exactlyOnce() {
		if strings.EqualFold(strings.TrimSpace(resolved[KeyTransactionBoundary]), "connector") {
			values = connect.AddError(values, KeyTransactionBoundary,
				"The connector does not support connector-defined transaction boundaries with the given configuration. Please remove the transaction.boundary property from the connector configuration.")
		}
		if strings.EqualFold(strings.TrimSpace(resolved[KeyExactlyOnceSupport]), "required") && !plugin.ExactlyOnce {
			values = connect.AddError(values, KeyExactlyOnceSupport,
				"The connector does not support exactly-once semantics with the provided configuration.")
		}
	}
	if cv, ok := plugin.NewConnector().(connect.ConnectorValidator); ok {
		values = cv.Validate(ctx, resolved, values)
	}
	groups := groupsOf(common, plugin.Config, tgroups)
	return h.buildInfos(class, def, groups, values, props), nil
}

// nameError applies Kafka's connector name rules.
func nameError(name string) string {
	if strings.TrimSpace(name) == "" {
		return "Invalid value  for configuration name: String may not be empty"
	}
	for _, r := range name {
		if unicode.IsControl(r) {
			return fmt.Sprintf("Invalid value %s for configuration name: String may not contain control sequences but had the following ASCII chars: %d", name, r)
		}
	}
	return ""
}

func groupsOf(common, own connect.ConfigDef, transformGroups []string) []string {
	var groups []string
	add := func(g string) {
		if g != "" && !slices.Contains(groups, g) {
			groups = append(groups, g)
		}
	}
	for _, k := range common {
		add(k.Group)
	}
	for _, g := range transformGroups {
		add(g)
	}
	for _, k := range own {
		add(k.Group)
	}
	return groups
}

// buildInfos renders the ConfigInfos answer, hiding secret values.
func (h *Herder) buildInfos(class string, def connect.ConfigDef, groups []string, values []connect.ConfigValue, raw map[string]string) validation {
	v := validation{def: def, infos: ConfigInfos{Name: class, Groups: groups, Configs: []ConfigInfo{}}}
	for i := range def {
		k := &def[i]
		info := keyInfo(k)
		ci := ConfigInfo{Definition: &info}
		cv := connect.ConfigValue{Name: k.Name, Visible: true}
		for _, x := range values {
			if x.Name == k.Name {
				cv = x
				break
			}
		}
		val := ConfigValueInfo{Name: k.Name, RecommendedValues: orEmpty(cv.RecommendedValues), Errors: orEmpty(cv.Errors), Visible: cv.Visible}
		if cv.HasValue {
			s := cv.Value
			if rv, ok := raw[k.Name]; ok {
				s = rv // show the reference, not what it resolved to
			}
			if hidden(def, k.Name, s) {
				s = connect.HiddenPassword
			}
			val.Value = &s
		}
		ci.Value = val
		v.infos.ErrorCount += len(cv.Errors)
		v.errors = append(v.errors, cv.Errors...)
		v.infos.Configs = append(v.infos.Configs, ci)
	}
	// Errors on keys the definition does not declare are reported too,
	// or a pattern key's error would be dropped.
	for _, cv := range values {
		if len(cv.Errors) == 0 || slices.ContainsFunc(def, func(k connect.ConfigKey) bool { return k.Name == cv.Name }) {
			continue
		}
		val := ConfigValueInfo{Name: cv.Name, RecommendedValues: orEmpty(cv.RecommendedValues), Errors: cv.Errors, Visible: cv.Visible}
		if s, ok := raw[cv.Name]; ok {
			if hidden(def, cv.Name, s) {
				s = connect.HiddenPassword
			}
			val.Value = &s
		}
		v.infos.Configs = append(v.infos.Configs, ConfigInfo{Value: val})
		v.infos.ErrorCount += len(cv.Errors)
		v.errors = append(v.errors, cv.Errors...)
	}
	return v
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// keyInfo renders a ConfigKey as ConfigKeyInfo.
func keyInfo(k *connect.ConfigKey) ConfigKeyInfo {
	info := ConfigKeyInfo{
		Name: k.Name, Type: string(k.Type), Required: k.Required(),
		Importance: string(k.Importance), Documentation: k.Doc,
		Order: k.OrderInGroup, Width: string(k.Width), DisplayName: k.DisplayName,
		Dependents: orEmpty(k.Dependents),
	}
	if info.Width == "" {
		info.Width = string(connect.WidthNone)
	}
	if info.DisplayName == "" {
		info.DisplayName = k.Name
	}
	if info.Order == 0 {
		info.Order = -1
	}
	if info.Importance == "" {
		info.Importance = string(connect.Low)
	}
	if s, ok := k.DefaultString(); ok {
		info.DefaultValue = &s
	}
	if k.Group != "" {
		g := k.Group
		info.Group = &g
	}
	return info
}

// invalidConfigError is the 400 Kafka answers a create or update with.
func invalidConfigError(v validation) error {
	return fmt.Errorf("%w: Connector configuration is invalid and contains the following %d error(s):\n%s\nYou can also find the above list of errors at the endpoint `/connector-plugins/{connectorType}/config/validate`",
		ErrBadRequest, len(v.errors), strings.Join(v.errors, "\n"))
}
