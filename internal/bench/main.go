// Package bench measures a Kafka-compatible broker the way Kafka's
// kafka-producer-perf-test and kafka-consumer-perf-test do: [Produce] writes
// a fixed number of records of a fixed size and reports throughput and
// per-record latency percentiles, [Consume] reads a topic back and reports
// throughput, [Source] runs datagen source tasks in an in-process Connect
// worker, [HTTPIngest] drives an HTTP source task with HTTP clients,
// [HTTPSink] times an HTTP sink task. [Main] is the `sluice bench
// produce|consume|source|cdc|http-ingest|http-sink|s3-sink|jdbc|mqtt-server|mqtt-source` command line.
//
// Values are half random, half repeated text (see [PayloadNote]), so
// compression results fall between incompressible and trivially
// compressible data. Rates in "MB/s" are MiB (2^20 bytes) per second, as in
// the Kafka tools.
package bench

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
)

// Main runs `sluice bench` with args (after the word "bench"), e.g.
// ["produce","--brokers","127.0.0.1:9092",...]. It prints results to stdout
// and progress and usage to stderr, and returns an error for bad flags or a
// failed run. Asking for help (-h) is not an error.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("bench: want a subcommand: " + subcommandList())
	}
	if slices.Contains([]string{"help", "-h", "-help", "--help"}, args[0]) {
		fmt.Fprint(stdout, usage)
		return nil
	}
	i := slices.IndexFunc(subcommands, func(c subcommand) bool { return c.name == args[0] })
	if i < 0 {
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("bench: unknown subcommand %q: want %s", args[0], subcommandList())
	}
	err := subcommands[i].run(ctx, args[1:], stdout, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	return err
}

// subcommand is one `sluice bench` subcommand: a name and what runs it.
type subcommand struct {
	name string
	run  func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

// subcommands are the subcommands in the order usage lists them.
var subcommands = []subcommand{
	{"produce", mainProduce},
	{"consume", mainConsume},
	{"source", mainSource},
	{"cdc", mainCDC},
	{"http-ingest", mainHTTPIngest},
	{"http-sink", mainHTTPSink},
	{"s3-sink", mainS3Sink},
	{"jdbc", mainJDBC},
	{"mqtt-server", mainMQTTServer},
	{"mqtt-source", mainMQTTSource},
}

// subcommandList names the subcommands for an error: "a, b or c".
func subcommandList() string {
	names := make([]string, len(subcommands))
	for i, c := range subcommands {
		names[i] = c.name
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}

const usage = `usage: sluice bench produce [flags]   write records, report throughput and latency
       sluice bench consume [flags]   read records back, report throughput
       sluice bench source [flags]    run datagen tasks in a Connect worker, report throughput per task
       sluice bench cdc [flags]       snapshot and stream a Postgres table with the CDC connector, report rows/s and events/s
       sluice bench http-ingest [flags]  post NDJSON or ES bulk lines to an HTTP source task, report lines/s, latency at half rate and the broker's own rate
       sluice bench http-sink [flags]    post a topic's records to a local HTTP server with an HTTP sink task, report records/s
       sluice bench s3-sink [flags]      JSON records through an S3 sink task into a bucket, beside the SDK's transfer manager on the same bytes: MB/s of both and their ratio
       sluice bench jdbc [flags]         upserts of 10-column rows through a JDBC sink task into Postgres/MySQL/MariaDB, beside the same upserts issued directly with the driver: rows/s of both and their ratio
       sluice bench mqtt-server [flags]  publish 200-byte QoS 1 messages to a built-in MQTT server task, acknowledged once durable: msgs/s
       sluice bench mqtt-source [flags]  QoS 1 readings queued in Mosquitto through one MQTT source task into the broker, beside a plain paho subscriber draining the same count: msg/s of both and their ratio
Run with -h after the subcommand for its flags.
`

func mainProduce(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseProduceFlags(args, stderr)
	if err != nil {
		return fmt.Errorf("bench produce: %w", err)
	}
	r, err := Produce(ctx, o, stderr)
	if err != nil {
		return fmt.Errorf("bench produce: %w", err)
	}
	fmt.Fprintln(stdout, produceSummary(o, r))
	return nil
}

func mainConsume(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseConsumeFlags(args, stderr)
	if err != nil {
		return fmt.Errorf("bench consume: %w", err)
	}
	r, err := Consume(ctx, o, stderr)
	if r.Records > 0 || err == nil {
		fmt.Fprintln(stdout, consumeSummary(r))
	}
	if err != nil {
		return fmt.Errorf("bench consume: %w", err)
	}
	return nil
}

// parseProduceFlags returns the options args ask for, or every problem
// with them. Idempotency follows --acks unless --idempotent is given.
func parseProduceFlags(args []string, stderr io.Writer) (ProduceOptions, error) {
	o := ProduceOptions{
		Brokers: []string{DefaultBroker}, Topic: DefaultTopic, Records: DefaultRecords,
		RecordSize: DefaultRecordSize, Acks: "all", Compression: "none", Partitions: DefaultPartitions,
		BatchMaxBytes: DefaultBatchMaxBytes, Producers: 1, Idempotent: true, MaxInflight: DefaultMaxInflight,
	}
	fs := flag.NewFlagSet("sluice bench produce", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Var((*addrList)(&o.Brokers), "brokers", "comma-separated seed `addresses`")
	fs.StringVar(&o.Topic, "topic", o.Topic, "`topic` to produce to; created if missing")
	fs.IntVar(&o.Records, "records", o.Records, "records to produce in all")
	fs.IntVar(&o.RecordSize, "record-size", o.RecordSize, "value size in `bytes` ("+PayloadNote+")")
	fs.StringVar(&o.Acks, "acks", o.Acks, "acks: all, -1, 1 or 0")
	fs.StringVar(&o.Compression, "compression", o.Compression, "codec: none, gzip, snappy, lz4 or zstd")
	fs.IntVar(&o.Partitions, "partitions", o.Partitions, "partitions when creating the topic (an existing topic keeps its own)")
	fs.DurationVar(&o.Linger, "linger", o.Linger, "how long a batch waits to fill")
	fs.IntVar(&o.BatchMaxBytes, "batch-max-bytes", o.BatchMaxBytes, "largest record batch in `bytes`")
	fs.IntVar(&o.Producers, "producers", o.Producers, "independent clients producing in parallel, sharing --records")
	fs.BoolVar(&o.Idempotent, "idempotent", o.Idempotent, "idempotent producing (needs --acks all; default true only with acks all)")
	fs.IntVar(&o.MaxInflight, "max-inflight", o.MaxInflight, "produce requests in flight per broker, with --idempotent=false")
	fs.Float64Var(&o.Throughput, "throughput", -1, "cap on records/s across all producers; -1 is unlimited")
	if err := parseFlags(fs, args); err != nil {
		return o, err
	}
	given := givenFlags(fs)
	if !given["idempotent"] && acksName(o.Acks) != "all" {
		o.Idempotent = false // kgo allows idempotency only with acks=all
	}
	var errs []error
	if given["max-inflight"] && o.Idempotent {
		errs = append(errs, errors.New("--max-inflight: applies only with --idempotent=false (idempotent producing keeps up to 5 requests in flight)"))
	}
	return o, errors.Join(append(errs, o.Validate())...)
}

// parseConsumeFlags returns the options args ask for, or every problem
// with them.
func parseConsumeFlags(args []string, stderr io.Writer) (ConsumeOptions, error) {
	o := ConsumeOptions{Brokers: []string{DefaultBroker}, Topic: DefaultTopic, Timeout: DefaultTimeout}
	fs := flag.NewFlagSet("sluice bench consume", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Var((*addrList)(&o.Brokers), "brokers", "comma-separated seed `addresses`")
	fs.StringVar(&o.Topic, "topic", o.Topic, "`topic` to read")
	fs.IntVar(&o.Records, "records", 0, "stop after this many records (0: read up to the end offsets at start)")
	fs.StringVar(&o.Group, "group", "", "consumer `group` to read as (default: none, read every partition from the start)")
	fs.DurationVar(&o.Timeout, "timeout", o.Timeout, "give up after this long")
	if err := parseFlags(fs, args); err != nil {
		return o, err
	}
	return o, o.Validate()
}

func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	return nil
}

func givenFlags(fs *flag.FlagSet) map[string]bool {
	given := make(map[string]bool)
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	return given
}

// addrList is a flag.Value for comma-separated addresses.
type addrList []string

func (l *addrList) String() string { return strings.Join(*l, ",") }

func (l *addrList) Set(s string) error {
	*l = strings.Split(s, ",")
	for i := range *l {
		(*l)[i] = strings.TrimSpace((*l)[i])
	}
	return nil
}

func produceSummary(o ProduceOptions, r ProduceResult) string {
	o = o.withDefaults()
	producers := ""
	if o.Producers > 1 {
		producers = fmt.Sprintf(", %d producers", o.Producers)
	}
	return fmt.Sprintf("produce: %d records, %d B each (%s), acks=%s, compression=%s, %d partitions%s: "+
		"%.1f records/s, %.2f MB/s (MiB), latency p50 %s, p99 %s, p99.9 %s, max %s, elapsed %s",
		r.Records, o.RecordSize, PayloadNote, acksName(o.Acks), o.Compression, r.Partitions, producers,
		r.RecordsPerSec(), r.MBPerSec(), ms(r.P50), ms(r.P99), ms(r.P999), ms(r.Max), seconds(r.Elapsed))
}

func consumeSummary(r ConsumeResult) string {
	return fmt.Sprintf("consume: %d records, %.2f MB: %.1f records/s, %.2f MB/s (MiB), elapsed %s",
		r.Records, float64(r.Bytes)/(1<<20), r.RecordsPerSec(), r.MBPerSec(), seconds(r.Elapsed))
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond)) }

func seconds(d time.Duration) string { return fmt.Sprintf("%.2fs", d.Seconds()) }
