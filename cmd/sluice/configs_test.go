package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/broker"
	"github.com/sluicehq/sluice/connectors/builtin"
	"github.com/sluicehq/sluice/internal/testenv"
	"github.com/sluicehq/sluice/runtime/worker"
)

// TestExampleConfigsAreValid checks every file in configs/: worker files
// parse as worker configs, connector files pass the validate endpoint's
// checks with no errors.
func TestExampleConfigsAreValid(t *testing.T) {
	files, err := filepath.Glob("../../configs/*")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	cfg, err := worker.NewConfig(map[string]string{})
	require.NoError(t, err)
	h, err := worker.New(worker.Options{Config: cfg, Plugins: worker.Plugins{Connectors: builtin.Connectors(), Others: builtin.Others()}, Offsets: worker.NewMemOffsetStore(), ClientOpts: []kgo.Opt{kgo.SeedBrokers("127.0.0.1:1")}})
	require.NoError(t, err)
	var s3 *testenv.S3 // started once, for the whole test
	parent := t
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			if filepath.Base(f) == "server.properties" {
				props, err := readProperties(f)
				require.NoError(t, err)
				_, err = broker.NewConfig(props)
				require.NoError(t, err)
				return
			}
			if strings.Contains(f, "worker") || strings.Contains(f, "standalone") {
				props, err := readProperties(f)
				require.NoError(t, err)
				_, err = worker.NewConfig(props)
				require.NoError(t, err)
				return
			}
			props, err := readConnectorFile(f)
			require.NoError(t, err)
			if _, ok := props["store.url"]; ok {
				if s3 == nil {
					s3 = testenv.StartS3(parent)
				}
				s3.CreateBucket(t, props["s3.bucket.name"])
				props["store.url"], props["aws.access.key.id"], props["aws.secret.access.key"] = s3.Endpoint, s3.AccessKey, s3.SecretKey
			}
			infos, err := h.ValidateConfig(context.Background(), props["connector.class"], props)
			require.NoError(t, err)
			for _, c := range infos.Configs {
				require.Empty(t, c.Value.Errors, "%s: %s", f, c.Value.Name)
			}
			require.Zero(t, infos.ErrorCount)
		})
	}
}
