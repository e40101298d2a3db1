package s3

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/internal/connecttest"
	"github.com/sluicehq/sluice/runtime/connect"
)

// TestWorkerRewindsAfterFailedUploads runs the sink in the real worker
// (consumer group, Put redelivery, rewinds applied after a Put) with
// injected failures of the uploads of some files, and of some parts:
// the bucket ends up with the objects of a clean run, byte for byte, and
// the worker commits every record.
func TestWorkerRewindsAfterFailedUploads(t *testing.T) {
	const records, flush = 1200, 300 // files of 6 MB: two parts each
	values := make([][]byte, records)
	for i := range values {
		values[i] = fmt.Appendf(nil, `{"i":%d,"pad":"%020000d"}`, i, i)
	}
	run := func(t *testing.T, commits map[int]bool, parts map[int32]bool) map[string][]byte {
		plugin := Plugin
		plugin.NewSinkTask = func() connect.SinkTask {
			task := newSinkTask()
			pf := &partFailures{fail: parts}
			real := task.newUploader
			task.newUploader = func(ctx context.Context, s *settings) (uploader, error) {
				up, err := real(ctx, s)
				if err != nil {
					return nil, err
				}
				su := up.(*streamUploader)
				c := *su
				c.c = s3.New(su.c.Options(), pf.option)
				return &flakyUploader{next: &c, fail: commits}, nil
			}
			return task
		}
		w := connecttest.StartWorker(t, nil, []connect.ConnectorPlugin{plugin}, nil)
		connecttest.Produce(t, w.Broker, "orders", values...)
		cfg := baseConfig(fakeS3(t))
		delete(cfg, "connector.class")
		cfg["topics"] = "orders"
		cfg["flush.size"] = strconv.Itoa(flush)
		cfg["retry.backoff.ms"] = "50"
		cfg["s3.part.size"] = "5242880"
		cfg["format.class"] = ByteArrayFormatClass
		cfg["value.converter"] = "org.apache.kafka.connect.converters.ByteArrayConverter"
		w.Create("s3", Plugin.Class, cfg)
		want := records / flush
		require.Eventually(t, func() bool { return len(objects(t, cfg)) >= want }, 60*time.Second, 100*time.Millisecond)
		// Every file committed and none written twice under another name.
		time.Sleep(300 * time.Millisecond)
		return objects(t, cfg)
	}
	clean := run(t, nil, nil)
	require.Len(t, clean, records/flush)
	for name, c := range map[string]struct {
		commits map[int]bool
		parts   map[int32]bool
	}{
		"commits": {commits: map[int]bool{2: true, 3: true, 5: true}},
		"parts":   {parts: map[int32]bool{1: true}},
	} {
		t.Run(name, func(t *testing.T) {
			got := run(t, c.commits, c.parts)
			assert.Equal(t, keys(clean), keys(got))
			for k, v := range clean {
				assert.True(t, string(v) == string(got[k]), "%s differs from a clean run's", k)
			}
		})
	}
}
