package worker

import (
	"slices"
	"strings"

	"github.com/sluicehq/sluice/runtime/connect"
)

// Which config values are shown as [hidden]. Kafka hides the values of keys
// a ConfigDef declares PASSWORD, and only those a definition it knows
// declares. Sluice also hides every key whose name says it holds a secret,
// whoever reads it — a converter, a transform, a client override or no one
// — because configs copied from Kafka and Confluent carry such keys nested
// under prefixes no definition covers: producer.override.sasl.jaas.config,
// consumer.override.ssl.keystore.password, value.converter.basic.auth.user.info,
// transforms.route.api.key. The rules, on the lower-cased key:
//
//   - a dotted component containing password, passwd, passphrase or secret
//     (ssl.key.password, database.password, connection.password,
//     aws.secret.access.key, bearer.auth.client.secret,
//     snowflake.private.key.passphrase);
//   - a key ending in one of secretSuffixes: Kafka's other PASSWORD client
//     keys, Confluent's schema registry client credentials, and private
//     keys, API and account keys and credential files of common connectors;
//   - a last component ending in token (bearer.auth.token, aws.session.token,
//     azure.sas.token).
//
// A value holding a config provider reference (${file:/etc/secrets:db}) is
// shown as it is: it names where the secret is, not the secret.

// secretWords mark a secret anywhere in a dotted component.
var secretWords = []string{"password", "passwd", "passphrase", "secret"}

// secretSuffixes mark a secret at the end of a key.
var secretSuffixes = []string{
	"sasl.jaas.config", "ssl.keystore.key", "ssl.keystore.certificate.chain", "ssl.truststore.certificates", // Kafka PASSWORD keys
	"basic.auth.user.info", // Confluent schema registry client: user:password
	"credentials", "credentials.json", "private.key", "api.key", "apikey", "account.key",
}

// isSecretKey reports whether a config key's name says it holds a secret.
func isSecretKey(key string) bool {
	k := strings.ToLower(key)
	parts := strings.Split(k, ".")
	for _, p := range parts {
		if slices.ContainsFunc(secretWords, func(w string) bool { return strings.Contains(p, w) }) {
			return true
		}
	}
	for _, s := range secretSuffixes {
		if k == s || strings.HasSuffix(k, "."+s) {
			return true
		}
	}
	return strings.HasSuffix(parts[len(parts)-1], "token")
}

// hidden reports whether a config value must be shown as [hidden]: its key
// is declared PASSWORD or named like a secret, and it is not a provider
// reference.
func hidden(def connect.ConfigDef, key, value string) bool {
	if hasReference(value) {
		return false
	}
	if k := def.Key(key); k != nil && k.Type == connect.ConfigPassword {
		return true
	}
	return isSecretKey(key)
}

// hidePasswords returns props with every secret value shown as [hidden].
func hidePasswords(def connect.ConfigDef, props map[string]string) map[string]string {
	out := make(map[string]string, len(props))
	for k, v := range props {
		if hidden(def, k, v) {
			v = connect.HiddenPassword
		}
		out[k] = v
	}
	return out
}

// redactAll renders a config for an error message, secrets hidden.
func redactAll(props map[string]string) map[string]string {
	return hidePasswords(nil, props)
}
