package s3

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/sluicehq/sluice/runtime/connect"
)

// SourcePlugin is the S3 source plugin.
var SourcePlugin = connect.ConnectorPlugin{
	Class:   "io.sluice.connect.s3.S3SourceConnector",
	Aliases: []string{"io.confluent.connect.s3.source.S3SourceConnector"},
	Version: connect.BuiltinVersion,
	Config:  SourceConfig,
	Doc: "Reads S3 objects back into Kafka: in RESTORE_BACKUP mode the objects of Confluent's (or Sluice's) S3 sink, " +
		"to the topic and partition of each file, in offset order, keys and headers restored from the sidecars " +
		"(JSON, ByteArray, Avro and Parquet); in GENERIC mode any objects under a prefix, one record per line or per object.",
	NewConnector:  func() connect.Connector { return &sourceConnector{} },
	NewSourceTask: func() connect.SourceTask { return newSourceTask() },
}

// sourceConnector finds the topic-partitions of the backup and splits them
// over the tasks; it lists the bucket again every s3.poll.interval.ms and
// asks for new task configs when partitions appear.
type sourceConnector struct {
	props map[string]string
	s     *sourceSettings
	st    store
	ctx   connect.ConnectorContext

	mu    sync.Mutex
	parts []connect.TopicPartition // sorted

	// cancel stops watch, which closes done when it returns.
	cancel context.CancelFunc
	done   chan struct{}
}

// Start implements connect.Connector: it checks the bucket and lists the
// backup's partitions (within 30s each), then watches for new ones.
func (c *sourceConnector) Start(ctx connect.ConnectorContext, config map[string]string) error {
	s, err := parseSourceSettings(config)
	if err != nil {
		return fmt.Errorf("start S3SourceConnector: %w", err)
	}
	st, err := openStore(context.Background(), s)
	if err != nil {
		return fmt.Errorf("start S3SourceConnector: %w", err)
	}
	c.props, c.s, c.st, c.ctx = config, s, st, ctx
	if s.generic {
		return nil
	}
	lctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	parts, err := c.listPartitions(lctx)
	if err != nil {
		st.close()
		return fmt.Errorf("start S3SourceConnector: %w", err)
	}
	c.parts = parts
	wctx, stop := context.WithCancel(context.Background())
	c.cancel, c.done = stop, make(chan struct{})
	go c.watch(wctx)
	return nil
}

// listPartitions lists the topic-partitions of the backup's value files.
func (c *sourceConnector) listPartitions(ctx context.Context) ([]connect.TopicPartition, error) {
	seen := map[connect.TopicPartition]bool{}
	err := listKeys(ctx, c.st.c, c.st.bucket, c.s.topicsPrefix(), "", func(key string) error {
		f, ok, err := c.s.parseBackupKey(key)
		if ok && f.kind == valueFile {
			seen[connect.TopicPartition{Topic: f.topic, Partition: f.partition}] = true
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return slices.SortedFunc(maps.Keys(seen), compareTP), nil
}

func compareTP(a, b connect.TopicPartition) int {
	if c := strings.Compare(a.Topic, b.Topic); c != 0 {
		return c
	}
	return compareInt(int64(a.Partition), int64(b.Partition))
}

// watch lists the backup every poll interval and asks for new task
// configs when its partitions changed.
func (c *sourceConnector) watch(ctx context.Context) {
	defer close(c.done)
	t := time.NewTicker(c.s.poll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		lctx, cancel := context.WithTimeout(ctx, max(30*time.Second, c.s.poll))
		parts, err := c.listPartitions(lctx)
		cancel()
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			c.ctx.Logger().Warn("list the backup for new partitions", "error", err)
			continue
		}
		c.mu.Lock()
		changed := !slices.Equal(parts, c.parts)
		c.parts = parts
		c.mu.Unlock()
		if changed {
			c.ctx.Logger().Info("the backup's partitions changed; reconfiguring the tasks", "partitions", len(parts))
			c.ctx.RequestTaskReconfiguration()
		}
	}
}

// TaskConfigs implements connect.Connector: in RESTORE_BACKUP mode the
// partitions, sorted by topic and partition, go round robin to at most
// maxTasks tasks (never more tasks than partitions); a single task reads
// every partition it finds, new ones included. GENERIC mode has one task:
// its objects are read in key order.
func (c *sourceConnector) TaskConfigs(maxTasks int) ([]map[string]string, error) {
	c.mu.Lock()
	parts := slices.Clone(c.parts)
	c.mu.Unlock()
	if c.s.generic || maxTasks <= 1 || len(parts) <= 1 {
		return []map[string]string{maps.Clone(c.props)}, nil
	}
	n := min(maxTasks, len(parts))
	shares := make([][]connect.TopicPartition, n)
	for i, tp := range parts {
		shares[i%n] = append(shares[i%n], tp)
	}
	out := make([]map[string]string, n)
	for i, share := range shares {
		out[i] = maps.Clone(c.props)
		out[i][taskPartitionsConfig] = formatAssignment(share)
	}
	return out, nil
}

// Stop implements connect.Connector.
func (c *sourceConnector) Stop() error {
	if c.cancel != nil {
		c.cancel()
		<-c.done
		c.cancel = nil
	}
	c.st.close()
	return nil
}

// Validate implements connect.ConnectorValidator: with valid keys, it
// checks that the bucket answers, reporting what to fix on the key that
// fixes it.
func (c *sourceConnector) Validate(ctx context.Context, config map[string]string, results []connect.ConfigValue) []connect.ConfigValue {
	for _, r := range results {
		if len(r.Errors) > 0 {
			return results
		}
	}
	s, err := parseSourceSettings(config)
	if err != nil {
		key := s3Keys.Bucket.Name()
		if ce, ok := err.(*connect.ConfigError); ok && ce.Key != "" {
			key = ce.Key
		}
		return connect.AddError(results, key, err.Error())
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	st, err := openStore(ctx, s)
	if err != nil {
		return connect.AddError(results, keyNamedIn(err.Error()), err.Error())
	}
	st.close()
	return results
}

// keyNamedIn returns the connection key an S3 error names in parentheses
// (kit.CheckBucket's messages do), or s3.bucket.name.
func keyNamedIn(msg string) string {
	for _, k := range []string{"aws.access.key.id", "aws.secret.access.key", "s3.region", "store.url"} {
		if strings.Contains(msg, "("+k) {
			return k
		}
	}
	return s3Keys.Bucket.Name()
}
