// Package builtin is the one explicit list of the plugins compiled into
// Sluice: connectors, converters, transforms and predicates. It returns
// plain lists; whoever runs them (cmd/sluice, tests) hands them to a
// worker, so this package depends on no worker.
package builtin

import (
	"github.com/sluicehq/sluice/connectors/datagen"
	"github.com/sluicehq/sluice/connectors/file"
	"github.com/sluicehq/sluice/connectors/httpsink"
	"github.com/sluicehq/sluice/connectors/httpsource"
	"github.com/sluicehq/sluice/connectors/jdbc"
	"github.com/sluicehq/sluice/connectors/mqtt"
	"github.com/sluicehq/sluice/connectors/postgres"
	"github.com/sluicehq/sluice/connectors/s3"
	"github.com/sluicehq/sluice/runtime/connect"
	"github.com/sluicehq/sluice/runtime/convert"
	"github.com/sluicehq/sluice/runtime/convert/schemaconv"
	"github.com/sluicehq/sluice/runtime/transform"
)

// Connectors lists the built-in connector plugins.
func Connectors() []connect.ConnectorPlugin {
	return []connect.ConnectorPlugin{
		file.Source,
		file.Sink,
		datagen.Plugin,
		postgres.Plugin,
		httpsink.Plugin,
		httpsource.Plugin,
		mqtt.ServerPlugin,
		s3.Plugin,
		s3.SourcePlugin,
		jdbc.Plugin,
		mqtt.SourcePlugin,
		mqtt.SinkPlugin,
	}
}

// Others lists the built-in plugins that are not connectors: converters,
// header converters, transforms and predicates.
func Others() []connect.Plugin {
	var others []connect.Plugin
	others = append(others, convert.Plugins()...)
	others = append(others, schemaconv.Plugins()...)
	others = append(others, transform.Plugins()...)
	return others
}
