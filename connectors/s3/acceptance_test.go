package s3

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/internal/connecttest"
	"github.com/sluicehq/sluice/internal/testenv"
)

// TestAcceptance runs the connector suite through the real worker against
// gofakes3: the records read back from the objects, in key order, are
// those produced, each exactly once, across a worker restart.
func TestAcceptance(t *testing.T) {
	acceptance(t, func(t *testing.T) map[string]string { return baseConfig(fakeS3(t)) })
}

// TestAcceptanceVersityGW runs the suite against a real S3 server,
// versitygw, with its keys and region.
func TestAcceptanceVersityGW(t *testing.T) {
	acceptance(t, func(t *testing.T) map[string]string {
		srv := testenv.StartS3(t)
		srv.CreateBucket(t, testBucket)
		cfg := baseConfig(srv.Endpoint)
		cfg["s3.region"], cfg["aws.access.key.id"], cfg["aws.secret.access.key"] = srv.Region, srv.AccessKey, srv.SecretKey
		return cfg
	})
}

func acceptance(t *testing.T, server func(t *testing.T) map[string]string) {
	var n atomic.Int32
	connecttest.Acceptance(t, connecttest.Spec{
		Plugin: Plugin,
		Config: func(t *testing.T) map[string]string {
			cfg := server(t)
			delete(cfg, "connector.class")
			cfg["topics"] = "acc-" + strconv.Itoa(int(n.Add(1)))
			cfg["flush.size"] = "5" // the suite produces batches of 10
			return cfg
		},
		Topic: func(config map[string]string) string { return config["topics"] },
		ID: func(v any) (int, error) {
			f, ok := v.(float64)
			if !ok || f != float64(int(f)) {
				return 0, fmt.Errorf("%v is not an index", v)
			}
			return int(f), nil
		},
		Written: func(t *testing.T, config map[string]string) []any {
			got := objects(t, config)
			var out []any
			for _, k := range keys(got) { // zero-padded start offsets sort in offset order
				sc := bufio.NewScanner(bytes.NewReader(got[k]))
				for sc.Scan() {
					var v any
					require.NoError(t, json.Unmarshal(sc.Bytes(), &v), "line of %s", k)
					out = append(out, v)
				}
			}
			return out
		},
	})
}
