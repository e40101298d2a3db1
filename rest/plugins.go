package rest

import (
	"context"
	"net/http"

	"github.com/sluicehq/sluice/runtime/worker"
)

// The plugin resource (Kafka's ConnectorPluginsResource).

// listPlugins answers GET /connector-plugins: connectors only unless
// connectorsOnly=false (KIP-769) adds transformations, predicates and
// converters. The list is this worker's.
func (s *Server) listPlugins(w http.ResponseWriter, r *http.Request) {
	plugins := s.herder.Plugins(boolQuery(r, "connectorsOnly", true))
	if plugins == nil {
		plugins = []worker.PluginInfo{}
	}
	writeJSON(w, http.StatusOK, plugins)
}

// getPluginConfig answers GET /connector-plugins/{plugin}/config with the
// plugin's config keys; 404 for an unknown plugin.
func (s *Server) getPluginConfig(w http.ResponseWriter, r *http.Request) {
	keys, err := s.herder.PluginConfig(pathParam(r, "plugin"))
	if keys == nil {
		keys = []worker.ConfigKeyInfo{}
	}
	s.answer(w, r, http.StatusOK, keys, err)
}

// validateConfig answers PUT /connector-plugins/{plugin}/config/validate
// with the ConfigInfos; the herder answers 400 when the body's
// connector.class names another plugin.
func (s *Server) validateConfig(w http.ResponseWriter, r *http.Request) {
	plugin := pathParam(r, "plugin")
	var config configMap
	if _, err := readJSON(r, &config); err != nil {
		s.writeError(w, r, err)
		return
	}
	if config == nil {
		config = configMap{}
	}
	infos, err := herderCall(s, r, func(ctx context.Context) (worker.ConfigInfos, error) {
		return s.herder.ValidateConfig(ctx, plugin, config)
	})
	s.answer(w, r, http.StatusOK, infos, err)
}
