package schemaconv

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/internal/testenv"
	"github.com/sluicehq/sluice/runtime/connect"
	srserver "github.com/sluicehq/sluice/schema-registry"
)

// startRegistry runs a real registry on a real broker until the test ends
// and returns its URL.
func startRegistry(t *testing.T) string {
	t.Helper()
	broker := testenv.StartBroker(t, nil)
	srv, err := srserver.New(srserver.Options{ClientOpts: []kgo.Opt{kgo.SeedBrokers(broker.Addr)}, Listen: "127.0.0.1:0"})
	require.NoError(t, err)
	addr, err := srv.Listen()
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	url := "http://" + addr.String()
	require.Eventually(t, func() bool {
		resp, err := http.Post(url+"/subjects/probe/versions", "application/json", nil)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode < 500
	}, 10*time.Second, 20*time.Millisecond)
	return url
}

func TestConvertersThroughRegistry(t *testing.T) {
	url := startRegistry(t)
	for _, newConv := range []func() *Converter{NewAvroConverter, NewJSONSchemaConverter} {
		c := newConv()
		t.Run(c.fmt.name(), func(t *testing.T) {
			require.NoError(t, c.Configure(map[string]string{RegistryURLConfig: url}, false))
			data, err := c.FromConnect("orders-"+c.fmt.name(), nil, allSchema, allValue())
			require.NoError(t, err)
			require.Equal(t, byte(0), data[0])

			reader := newConv()
			require.NoError(t, reader.Configure(map[string]string{RegistryURLConfig: url}, false))
			s, v, err := reader.ToConnect("orders", nil, data)
			require.NoError(t, err)
			assertSchemaEqual(t, allSchema, s)
			for _, f := range allSchema.Fields {
				w, _ := allValue().Get(f.Name)
				g, _ := v.(*connect.Struct).Get(f.Name)
				assert.True(t, connect.ValuesEqual(w, g), "field %s", f.Name)
			}
		})
	}
}

func TestIncompatibleSchemaRefused(t *testing.T) {
	url := startRegistry(t)
	c := NewAvroConverter()
	require.NoError(t, c.Configure(map[string]string{RegistryURLConfig: url}, false))
	v1 := connect.StructBuilder().Name("x.R").Field("a", connect.Int32Schema).Build()
	_, err := c.FromConnect("t", nil, v1, connect.NewStruct(v1).MustPut("a", int32(1)))
	require.NoError(t, err)
	// A new required field without a default: BACKWARD refuses it.
	v2 := connect.StructBuilder().Name("x.R").Field("a", connect.Int32Schema).Field("b", connect.StringSchema).Build()
	_, err = c.FromConnect("t", nil, v2, connect.NewStruct(v2).MustPut("a", int32(1)).MustPut("b", "x"))
	require.ErrorIs(t, err, connect.ErrData)
	require.ErrorIs(t, err, ErrIncompatible)
	assert.Contains(t, err.Error(), "t-value")
	assert.Contains(t, err.Error(), "BACKWARD")
	t.Log(err)
}
