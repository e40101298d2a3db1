package broker_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/testenv"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// BenchmarkTransactionalProduce produces 1 KiB records (acks=all, lz4, 8
// partitions) in transactions of perTxn records, and the same records
// without a transaction (idempotent), in the same run on the same broker,
// and reports both rates and their ratio.
//
//	go test ./broker -run '^$' -bench BenchmarkTransactionalProduce -benchtime 3x
func BenchmarkTransactionalProduce(b *testing.B) {
	br := testenv.StartBroker(b, nil)
	const records, perTxn, partitions = 100_000, 5_000, 8
	value := make([]byte, 1024)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 512 { // about half compressible
		value[i] = byte(rng.Uint32())
	}
	ctx := context.Background()
	run := func(topic string, transactional bool) time.Duration {
		adm, err := kgo.NewClient(kgo.SeedBrokers(br.Addr))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := kadm.NewClient(adm).CreateTopic(ctx, partitions, 1, nil, topic); err != nil {
			b.Fatal(err)
		}
		adm.Close()
		opts := []kgo.Opt{kgo.SeedBrokers(br.Addr), kgo.DefaultProduceTopic(topic), kgo.ProducerBatchCompression(kgo.Lz4Compression())}
		if transactional {
			opts = append(opts, kgo.TransactionalID(topic))
		}
		cl, err := kgo.NewClient(opts...)
		if err != nil {
			b.Fatal(err)
		}
		defer cl.Close()
		fail := func(_ *kgo.Record, err error) {
			if err != nil {
				b.Error(err)
			}
		}
		start := time.Now()
		for sent := 0; sent < records; sent += perTxn {
			if transactional {
				if err := cl.BeginTransaction(); err != nil {
					b.Fatal(err)
				}
			}
			for range perTxn {
				cl.Produce(ctx, &kgo.Record{Value: value}, fail)
			}
			if err := cl.Flush(ctx); err != nil {
				b.Fatal(err)
			}
			if transactional {
				if err := cl.EndTransaction(ctx, kgo.TryCommit); err != nil {
					b.Fatal(err)
				}
			}
		}
		return time.Since(start)
	}
	var plain, txn time.Duration
	for i := 0; b.Loop(); i++ {
		plain += run(fmt.Sprintf("bench-plain-%d", i), false)
		txn += run(fmt.Sprintf("bench-txn-%d", i), true)
	}
	n := float64(b.N)
	b.ReportMetric(records*n/plain.Seconds(), "plain-records/s")
	b.ReportMetric(records*n/txn.Seconds(), "txn-records/s")
	b.ReportMetric(plain.Seconds()/txn.Seconds(), "txn/plain")
}
