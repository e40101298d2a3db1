package s3

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/sluicehq/sluice/connectors/kit"
	"github.com/sluicehq/sluice/runtime/connect"
)

// reader is what a source task polls: the restore or the generic reader.
type reader interface {
	// poll returns up to max records; more says records are waiting, so
	// the task need not wait before the next poll.
	poll(ctx context.Context, max int) (recs []*connect.Record, more bool, err error)
	closeAll()
}

// sourceTask reads its share of the bucket.
type sourceTask struct {
	mu sync.Mutex // guards rd against Stop during Poll
	rd reader
	st store
	s  *sourceSettings
	// stopLife cancels the context the open objects are read with.
	stopLife context.CancelFunc
	// pending is an error met after some records of a poll: those
	// records are returned first (the reader has moved past them), the
	// error by the next Poll.
	pending error
	// idleWait is how long a Poll with nothing to return waits before
	// returning, at most s.poll: short, so the worker sees it often.
	idleWait time.Duration
}

func newSourceTask() *sourceTask { return &sourceTask{idleWait: time.Second} }

// Start implements connect.SourceTask: it checks the bucket answers, so a
// missing bucket or wrong credentials fail the task saying what to fix.
func (t *sourceTask) Start(ctx connect.SourceTaskContext, config map[string]string) error {
	s, err := parseSourceSettings(config)
	if err != nil {
		return fmt.Errorf("start S3SourceTask: %w", err)
	}
	only, err := parseAssignment(config[taskPartitionsConfig])
	if err != nil {
		return fmt.Errorf("start S3SourceTask: %w", err)
	}
	st, err := openStore(context.Background(), s)
	if err != nil {
		return fmt.Errorf("start S3SourceTask: %w", err)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.s, t.st = s, st
	life, stop := context.WithCancel(context.Background())
	t.stopLife = stop
	if s.generic {
		t.rd = newGenericReader(life, s, st, ctx)
	} else {
		t.rd = &restorer{life: life, s: s, st: st, ctx: ctx, only: only, byTP: map[connect.TopicPartition]*stream{}, queueMax: maxQueued}
	}
	return nil
}

// openStore builds the S3 client and checks the bucket, within 30s.
func openStore(ctx context.Context, s *sourceSettings) (store, error) {
	c, err := s3Keys.Client(ctx, s.cfg)
	if err != nil {
		return store{}, err
	}
	// A transport of the store's own, whose idle connections (and their
	// goroutines) close closes.
	var tr *http.Transport
	if b, ok := c.Options().HTTPClient.(*awshttp.BuildableClient); ok {
		tr = b.GetTransport()
		hc := &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		c = s3.New(c.Options(), func(o *s3.Options) { o.HTTPClient = hc })
	}
	check, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := kit.CheckBucket(check, c, s.bucket); err != nil {
		if tr != nil {
			tr.CloseIdleConnections()
		}
		return store{}, err
	}
	return store{c: c, bucket: s.bucket, tr: tr}, nil
}

// Poll implements connect.SourceTask: at most record.batch.max.size
// records; when everything listed is read, it waits (up to a second, then
// returns nothing) until s3.poll.interval.ms after the last listing.
func (t *sourceTask) Poll(ctx context.Context) ([]*connect.Record, error) {
	t.mu.Lock()
	rd, s := t.rd, t.s
	t.mu.Unlock()
	if rd == nil {
		return nil, fmt.Errorf("S3SourceTask: Poll before Start or after Stop")
	}
	if err := t.pending; err != nil {
		t.pending = nil
		return nil, err
	}
	recs, more, err := rd.poll(ctx, s.batch)
	if err != nil && len(recs) > 0 {
		t.pending = err
		return recs, nil
	}
	if err != nil {
		if ctx.Err() != nil {
			return nil, nil
		}
		return nil, err
	}
	if len(recs) == 0 && !more {
		select {
		case <-ctx.Done():
		case <-time.After(min(t.idleWait, s.poll)):
		}
	}
	return recs, nil
}

// Stop implements connect.SourceTask.
func (t *sourceTask) Stop() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.rd != nil {
		t.stopLife()
		t.rd.closeAll()
		t.rd = nil
		t.st.close()
	}
	return nil
}

// formatAssignment renders a task's topic-partitions for its config.
func formatAssignment(tps []connect.TopicPartition) string {
	var b strings.Builder
	for _, tp := range tps {
		b.WriteString(tp.Topic)
		b.WriteByte('\t')
		b.WriteString(strconv.Itoa(int(tp.Partition)))
		b.WriteByte('\n')
	}
	return b.String()
}

// parseAssignment reads formatAssignment's text; "" (no key) is nil, every
// partition.
func parseAssignment(text string) (map[connect.TopicPartition]bool, error) {
	if text == "" {
		return nil, nil
	}
	out := map[connect.TopicPartition]bool{}
	for _, line := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		topic, p, ok := strings.Cut(line, "\t")
		n, err := strconv.ParseInt(p, 10, 32)
		if !ok || err != nil {
			return nil, fmt.Errorf("%s: %q is not topic<TAB>partition", taskPartitionsConfig, line)
		}
		out[connect.TopicPartition{Topic: topic, Partition: int32(n)}] = true
	}
	return out, nil
}
