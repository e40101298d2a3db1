// Package builtin is the one explicit list of the plugins compiled into
// Sluice: connectors, converters, transforms and predicates.
package builtin

import (
	"github.com/sluicehq/sluice/connectors/datagen"
	"github.com/sluicehq/sluice/connectors/file"
	"github.com/sluicehq/sluice/connectors/postgres"
	"github.com/sluicehq/sluice/runtime/connect"
	"github.com/sluicehq/sluice/runtime/convert"
	"github.com/sluicehq/sluice/runtime/convert/schemaconv"
	"github.com/sluicehq/sluice/runtime/transform"
	"github.com/sluicehq/sluice/runtime/worker"
)

// Connectors lists the built-in connector plugins.
func Connectors() []connect.ConnectorPlugin {
	return []connect.ConnectorPlugin{
		file.Source,
		file.Sink,
		datagen.Plugin,
		postgres.Plugin,
	}
}

// Plugins returns every built-in plugin for a worker.
func Plugins() worker.Plugins {
	var others []connect.Plugin
	others = append(others, convert.Plugins()...)
	others = append(others, schemaconv.Plugins()...)
	others = append(others, transform.Plugins()...)
	return worker.Plugins{Connectors: Connectors(), Others: others}
}
