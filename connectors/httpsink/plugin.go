package httpsink

import (
	"context"
	"fmt"

	"github.com/sluicehq/sluice/connectors/kit"
	"github.com/sluicehq/sluice/runtime/connect"
)

// The connector's class and the classes it stands in for.
const (
	// Class is Sluice's own class; it takes Confluent's keys.
	Class = "io.sluice.connect.http.HttpSinkConnector"
	// ConfluentClass is Confluent's HTTP sink, whose keys Class takes.
	ConfluentClass = "io.confluent.connect.http.HttpSinkConnector"
	// AivenClass is Aiven's HTTP sink; named in connector.class, it
	// selects Aiven's keys and defaults.
	AivenClass = "io.aiven.kafka.connect.http.HttpSinkConnector"
)

// Plugin is the HTTP sink connector plugin.
var Plugin = connect.ConnectorPlugin{
	Class:   Class,
	Aliases: []string{ConfluentClass, AivenClass},
	Version: connect.BuiltinVersion,
	Config:  Config,
	Doc: "Sends records to an HTTP endpoint in batches (a JSON array, NDJSON or a templated body), with Confluent's keys " +
		"(under its own class and Confluent's) or Aiven's (under Aiven's class): URL templating, basic, bearer, static and " +
		"OAuth2 client-credentials auth, retries honouring Retry-After, failed records to the DLQ with the response status " +
		"and body; offsets are committed only once their batch got a 2xx.",
	NewConnector: func() connect.Connector {
		return &connector{kit.SinkConnector{Check: func(config map[string]string) error {
			if _, _, err := build(config, nil); err != nil {
				return fmt.Errorf("start HTTP sink connector: %w", err)
			}
			return nil
		}}}
	},
	NewSinkTask: func() connect.SinkTask { return newSinkTask() },
}

// connector checks the config and runs tasks.max identical tasks.
type connector struct{ kit.SinkConnector }

// Validate implements connect.ConnectorValidator: it adds the cross-key
// and front-end problems to the per-key results, each on its key.
func (c *connector) Validate(_ context.Context, config map[string]string, results []connect.ConfigValue) []connect.ConfigValue {
	_, _, err := build(config, nil)
	results = kit.AddConfigErrors(results, err)
	return results
}
