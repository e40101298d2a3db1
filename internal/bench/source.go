package bench

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/connectors/builtin"
	"github.com/sluicehq/sluice/runtime/worker"
)

// SourceOptions configure a source-connector run: datagen tasks in an
// in-process worker producing to the brokers through the full record path
// (converters, producer, acknowledgements, offset commits).
type SourceOptions struct {
	Brokers        []string
	Topic          string
	Tasks          int
	RecordsPerTask int
	MessageSize    int
	// Converter is json (schemas.enable=false), json-schemas or string.
	Converter string
}

// SourceResult is what a source run measured.
type SourceResult struct {
	Records int64
	Bytes   int64 // key+value bytes in the topic
	Elapsed time.Duration
	Tasks   int
}

// Summary renders the result like the produce summary.
func (r SourceResult) Summary() string {
	secs := r.Elapsed.Seconds()
	mb := float64(r.Bytes) / (1 << 20)
	return fmt.Sprintf("%d records (%d tasks) in %.2fs: %.0f records/s, %.1f MB/s, %.1f MB/s per task",
		r.Records, r.Tasks, secs, float64(r.Records)/secs, mb/secs, mb/secs/float64(r.Tasks))
}

func parseSourceFlags(args []string, stderr io.Writer) (SourceOptions, error) {
	fs := flag.NewFlagSet("sluice bench source", flag.ContinueOnError)
	fs.SetOutput(stderr)
	brokers := fs.String("brokers", "127.0.0.1:9092", "comma-separated bootstrap brokers")
	o := SourceOptions{}
	fs.StringVar(&o.Topic, "topic", "", "topic to produce to (default: a new one per run)")
	fs.IntVar(&o.Tasks, "tasks", 1, "datagen tasks")
	fs.IntVar(&o.RecordsPerTask, "records", 200000, "records per task")
	fs.IntVar(&o.MessageSize, "message-size", 1024, "approximate payload bytes per record")
	fs.StringVar(&o.Converter, "converter", "json", "value converter: json, json-schemas or string")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	o.Brokers = strings.Split(*brokers, ",")
	if o.Tasks < 1 || o.RecordsPerTask < 1 || o.MessageSize < 1 {
		return o, errors.New("--tasks, --records and --message-size must be positive")
	}
	if o.Topic == "" {
		o.Topic = fmt.Sprintf("bench-source-%d", time.Now().UnixNano())
	}
	return o, nil
}

// Source runs datagen tasks until every record is in the topic.
func Source(ctx context.Context, o SourceOptions, progress io.Writer) (SourceResult, error) {
	conv := map[string]string{
		"json":         "org.apache.kafka.connect.json.JsonConverter",
		"json-schemas": "org.apache.kafka.connect.json.JsonConverter",
		"string":       "org.apache.kafka.connect.storage.StringConverter",
	}[o.Converter]
	if conv == "" {
		return SourceResult{}, fmt.Errorf("unknown converter %q: want json, json-schemas or string", o.Converter)
	}
	w, err := startWorker(ctx, o.Brokers)
	if err != nil {
		return SourceResult{}, err
	}
	defer w.close()
	h, adm := w.herder, w.adm
	before := endSum(ctx, adm, o.Topic)
	start := time.Now()
	_, err = h.CreateConnector(ctx, "bench-datagen", map[string]string{
		"connector.class": "DatagenConnector", "kafka.topic": o.Topic, "quickstart": "bench",
		"tasks.max": strconv.Itoa(o.Tasks), "iterations": strconv.Itoa(o.RecordsPerTask),
		"message.size": strconv.Itoa(o.MessageSize), "max.interval": "0",
		"key.converter": "org.apache.kafka.connect.storage.StringConverter", "value.converter": conv,
		"value.converter.schemas.enable": strconv.FormatBool(o.Converter == "json-schemas"),
	}, "")
	if err != nil {
		return SourceResult{}, err
	}
	want := before + int64(o.Tasks*o.RecordsPerTask)
	if err := waitTopic(ctx, adm, o.Topic, want, progress); err != nil {
		return SourceResult{}, err
	}
	r := SourceResult{Records: want - before, Elapsed: time.Since(start), Tasks: o.Tasks}
	r.Bytes = r.Records * sampleRecordSize(ctx, o.Brokers, o.Topic)
	return r, nil
}

// inProcessWorker is a Connect worker run inside the bench process, with
// offsets in memory, and an admin client on the same brokers.
type inProcessWorker struct {
	herder *worker.Herder
	adm    *kadm.Client
	close  func()
}

// startWorker starts a worker against brokers and waits until it is ready.
func startWorker(ctx context.Context, brokers []string) (*inProcessWorker, error) {
	opts := []kgo.Opt{kgo.SeedBrokers(brokers...), kgo.MetadataMinAge(100 * time.Millisecond)}
	cfg, err := worker.NewConfig(map[string]string{"bootstrap.servers": strings.Join(brokers, ","), "listeners": "http://127.0.0.1:0", "group.id": "sluice-bench"})
	if err != nil {
		return nil, err
	}
	h, err := worker.New(worker.Options{Config: cfg, Plugins: worker.Plugins{Connectors: builtin.Connectors(), Others: builtin.Others()}, Offsets: worker.NewMemOffsetStore(), ClientOpts: opts})
	if err != nil {
		return nil, err
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, err
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- h.Run(runCtx) }()
	w := &inProcessWorker{herder: h, adm: kadm.NewClient(cl), close: func() { stop(); <-done; cl.Close() }}
	for !h.Ready() {
		select {
		case err := <-done:
			cl.Close()
			return nil, fmt.Errorf("start worker: %w", err)
		case <-time.After(5 * time.Millisecond):
		}
	}
	return w, nil
}

// waitTopic waits until topic holds want records in all, printing the
// count to progress every second.
func waitTopic(ctx context.Context, adm *kadm.Client, topic string, want int64, progress io.Writer) error {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		n := endSum(ctx, adm, topic)
		if n >= want {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
			fmt.Fprintf(progress, "%d records in %s\n", n, topic)
		case <-time.After(5 * time.Millisecond):
		}
	}
}

func endSum(ctx context.Context, adm *kadm.Client, topic string) int64 {
	ends, err := adm.ListEndOffsets(ctx, topic)
	if err != nil {
		return 0
	}
	var sum int64
	ends.Each(func(o kadm.ListedOffset) {
		if o.Err == nil {
			sum += o.Offset
		}
	})
	return sum
}

// sampleRecordSize reads the topic's last record to size the run.
func sampleRecordSize(ctx context.Context, brokers []string, topic string) int64 {
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtEnd().Relative(-1)))
	if err != nil {
		return 0
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	for ctx.Err() == nil {
		if rs := cl.PollRecords(ctx, 1).Records(); len(rs) > 0 {
			return int64(len(rs[0].Key) + len(rs[0].Value))
		}
	}
	return 0
}

func mainSource(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return runSummarized(ctx, "source", args, stdout, stderr, parseSourceFlags, Source)
}

// runSummarized parses a subcommand's flags, runs it with progress on
// stderr and prints its result's summary.
func runSummarized[O any, R interface{ Summary() string }](ctx context.Context, name string, args []string, stdout, stderr io.Writer,
	parse func([]string, io.Writer) (O, error), run func(context.Context, O, io.Writer) (R, error)) error {
	o, err := parse(args, stderr)
	if err != nil {
		return fmt.Errorf("bench %s: %w", name, err)
	}
	r, err := run(ctx, o, stderr)
	if err != nil {
		return fmt.Errorf("bench %s: %w", name, err)
	}
	fmt.Fprintln(stdout, r.Summary())
	return nil
}
