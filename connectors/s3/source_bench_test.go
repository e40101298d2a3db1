package s3

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	"github.com/sluicehq/sluice/internal/connecttest"
	"github.com/sluicehq/sluice/internal/testenv"
)

// BenchmarkRestoreJSON reads one 32 MiB object of JSON lines (the sink's
// JsonFormat) through a source task from versitygw: MB/s of object bytes
// turned into records.
func BenchmarkRestoreJSON(b *testing.B) {
	gw := testenv.StartS3(b)
	gw.CreateBucket(b, srcBucket)
	srv := &srcServer{url: gw.Endpoint, c: gw.Client(b), region: gw.Region, access: gw.AccessKey, secret: gw.SecretKey}
	var buf bytes.Buffer
	n := 0
	for buf.Len() < 32<<20 {
		fmt.Fprintf(&buf, `{"id":%d,"region":"eu-west-1","amount":%d.25,"note":"a record of about a hundred bytes, as a log line"}`+"\n", n, n)
		n++
	}
	srv.put(b, "topics/t/partition=0/t+0+0000000000.json", buf.Bytes())
	cfg := srv.config(JSONFormatClass)
	cfg["record.batch.max.size"] = "10000"
	b.SetBytes(int64(buf.Len()))
	b.ResetTimer()
	for range b.N {
		task := newSourceTask()
		if err := task.Start(connecttest.NewSourceContext(b, cfg), cfg); err != nil {
			b.Fatal(err)
		}
		got := 0
		for got < n {
			recs, err := task.Poll(context.Background())
			if err != nil {
				b.Fatal(err)
			}
			got += len(recs)
		}
		_ = task.Stop()
	}
	b.ReportMetric(float64(n), "records/op")
}
