package worker

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Worker keys that ask for something Sluice does not do yet. Kafka would
// honour them; ignoring them would start a worker open and in plaintext
// where its operator asked for authentication or TLS, so the worker refuses
// to start instead, naming every such key at once. Keys that ask for
// nothing (blank values, PLAINTEXT) are accepted. Values are never shown:
// sasl.jaas.config and the ssl passwords are secrets.

// clientPrefixes are where Kafka reads the settings of the worker's own
// clients: shared, then per client type.
var clientPrefixes = []string{"", "producer.", "consumer.", "admin."}

// builtinProviders maps the config providers Sluice has, by the name Kafka
// gives each and by its Kafka class, to that name.
var builtinProviders = map[string]string{
	"env": "env", "org.apache.kafka.common.config.provider.EnvVarConfigProvider": "env",
	"file": "file", "org.apache.kafka.common.config.provider.FileConfigProvider": "file",
	"directory": "directory", "org.apache.kafka.common.config.provider.DirectoryConfigProvider": "directory",
}

// unsupportedKeys returns one error per key asking for a missing feature,
// sorted by key.
func unsupportedKeys(props map[string]string) []error {
	var errs []error
	refuse := func(key, why string) { errs = append(errs, fmt.Errorf("%s: %s", key, why)) }
	keys := slices.Sorted(maps.Keys(props))
	for _, k := range keys {
		v := strings.TrimSpace(props[k])
		switch {
		case k == "rest.extension.classes" && v != "":
			refuse(k, "REST extensions are Java classes and cannot be loaded; remove the key (put an authenticating proxy in front of the REST API)")
		case k == "admin.listeners" || strings.HasPrefix(k, "admin.listeners."):
			refuse(k, "separate admin listeners are not supported yet; the /admin endpoints are served on "+KeyListeners)
		case strings.HasPrefix(k, "listeners.https.") && v != "":
			refuse(k, errHTTPS.Error())
		case isSecurityProtocolKey(k) && !strings.EqualFold(v, "PLAINTEXT") && v != "":
			errs = append(errs, fmt.Errorf("%s=%s: only PLAINTEXT is supported yet; Sluice's Kafka clients have no TLS or SASL", k, v))
		case isTLSOrSASLKey(k) && v != "":
			refuse(k, "TLS and SASL are not supported yet; remove the key")
		case strings.HasPrefix(k, KeyConfigProviders+".") && strings.Contains(k, ".param.") && v != "":
			refuse(k, "config provider parameters (such as allowed.paths) are not supported yet")
		case k == "connector.client.config.override.policy" && v != "" && !strings.EqualFold(v, "All") &&
			v != "org.apache.kafka.connect.connector.policy.AllConnectorClientConfigOverridePolicy":
			refuse(k, "only the All policy is supported yet (connectors may override the client keys Sluice knows)")
		}
	}
	return errs
}

func isSecurityProtocolKey(k string) bool {
	return slices.ContainsFunc(clientPrefixes, func(p string) bool { return k == p+"security.protocol" })
}

func isTLSOrSASLKey(k string) bool {
	return slices.ContainsFunc(clientPrefixes, func(p string) bool {
		return strings.HasPrefix(k, p+"ssl.") || strings.HasPrefix(k, p+"sasl.")
	})
}

// providerKinds maps each provider named in config.providers to the
// built-in provider it is: by its config.providers.<name>.class when
// given, else by its name. A provider Sluice does not have is an error
// naming the key: left alone, its ${name:…} references would reach the
// connector unresolved. The name alone (config.providers=env) is Sluice's
// shortcut: Kafka skips a provider without a class, silently, and a
// setting that does nothing without a word is worse than one that does
// what its name says. None is enabled unless named.
func providerKinds(props map[string]string, names []string) (map[string]string, []error) {
	kinds := map[string]string{}
	var errs []error
	for _, name := range names {
		classKey := KeyConfigProviders + "." + name + ".class"
		class, hasClass := props[classKey]
		class = strings.TrimSpace(class)
		switch kind, ok := builtinProviders[class]; {
		case hasClass && ok:
			kinds[name] = kind
		case hasClass:
			errs = append(errs, fmt.Errorf("%s=%s: Sluice has only Kafka's EnvVarConfigProvider, FileConfigProvider and DirectoryConfigProvider", classKey, class))
		case builtinProviders[name] != "":
			kinds[name] = builtinProviders[name]
		default:
			errs = append(errs, fmt.Errorf("%s: provider %s is not built in (env, file, directory); give its class with %s", KeyConfigProviders, name, classKey))
		}
	}
	return kinds, errs
}
