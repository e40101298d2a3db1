package kit

import (
	"maps"

	"github.com/sluicehq/sluice/runtime/connect"
)

// SinkConnector is the Connector of a sink whose tasks all take the
// connector's config, as most sinks' do: the consumer group splits the
// topics' partitions between the tasks.max tasks. A connector embeds it,
// beside its own methods (a Validate, say).
type SinkConnector struct {
	// Check, when set, refuses a config at Start with the error it
	// returns; the worker reports it as the connector's failure.
	Check func(config map[string]string) error
	props map[string]string
}

// Start implements connect.Connector.
func (c *SinkConnector) Start(_ connect.ConnectorContext, config map[string]string) error {
	if c.Check != nil {
		if err := c.Check(config); err != nil {
			return err
		}
	}
	c.props = config
	return nil
}

// TaskConfigs implements connect.Connector: maxTasks copies of the
// connector's config.
func (c *SinkConnector) TaskConfigs(maxTasks int) ([]map[string]string, error) {
	out := make([]map[string]string, maxTasks)
	for i := range out {
		out[i] = maps.Clone(c.props)
	}
	return out, nil
}

// Stop implements connect.Connector.
func (c *SinkConnector) Stop() error { return nil }
