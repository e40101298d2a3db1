package s3

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/internal/connecttest"
	"github.com/sluicehq/sluice/runtime/connect"
)

// TestRestoreThroughTheWorker: through the real worker, records go to the
// partition of their file, renamed by a RegexRouter, with their keys and
// headers from the sidecars (and the JSON fields in their order).
func TestRestoreThroughTheWorker(t *testing.T) {
	w := connecttest.StartWorker(t, nil, []connect.ConnectorPlugin{SourcePlugin}, nil)
	cl, err := kgo.NewClient(kgo.SeedBrokers(w.Broker.Addr))
	require.NoError(t, err)
	defer cl.Close()
	_, err = kadm.NewClient(cl).CreateTopic(context.Background(), 3, 1, nil, "copy_of_orders")
	require.NoError(t, err)

	srv := srcFake(t)
	for _, p := range []string{"0", "2"} {
		dir := "topics/orders/partition=" + p + "/"
		srv.put(t, dir+"orders+"+p+"+0000000000.json", jsonLines(`{"p":`+p+`,"i":0}`, `{"p":`+p+`,"i":1}`))
		srv.put(t, dir+"orders+"+p+"+0000000000.keys.json", jsonLines(`"k`+p+`0"`, `"k`+p+`1"`))
		srv.put(t, dir+"orders+"+p+"+0000000000.headers.json", jsonLines(
			`{"headers":[{"key":"h","value":"v`+p+`0"}]}`, `{"headers":[{"key":"h","value":"v`+p+`1"}]}`))
	}
	cfg := srv.config(JSONFormatClass)
	cfg["keys.format.class"], cfg["headers.format.class"] = JSONFormatClass, JSONFormatClass
	cfg["tasks.max"] = "2"
	cfg["transforms"] = "copy"
	cfg["transforms.copy.type"] = "org.apache.kafka.connect.transforms.RegexRouter"
	cfg["transforms.copy.regex"] = ".*"
	cfg["transforms.copy.replacement"] = "copy_of_$0"
	w.Create("restore", SourcePlugin.Class, cfg)
	recs := connecttest.Consume(t, w.Broker, "copy_of_orders", 4, 30*time.Second)
	got := map[int32][]string{}
	for _, r := range recs {
		require.Len(t, r.Headers, 1)
		got[r.Partition] = append(got[r.Partition], string(r.Key)+" "+string(r.Value)+" "+string(r.Headers[0].Value))
	}
	assert.Equal(t, map[int32][]string{
		0: {`"k00" {"p":0,"i":0} v00`, `"k01" {"p":0,"i":1} v01`},
		2: {`"k20" {"p":2,"i":0} v20`, `"k21" {"p":2,"i":1} v21`},
	}, got)
}
