package file

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"time"

	"github.com/sluicehq/sluice/connectors/kit"
	"github.com/sluicehq/sluice/runtime/connect"
)

// Source partition and offset fields, as Kafka's FileStreamSourceTask names
// them.
const (
	filenameField = "filename"
	positionField = "position"
)

const (
	// defaultIdleWait is how long a poll that found no new line waits
	// before returning, so a growing file is checked a few times a second.
	defaultIdleWait = 250 * time.Millisecond
	// missingFileWait is how long a poll waits when the file does not
	// exist yet (Kafka waits a second too).
	missingFileWait = time.Second
	// missingFileWarnEvery spaces the warnings about a missing file: Kafka
	// warns at every poll, once a second, which would bury everything
	// else in the log.
	missingFileWarnEvery = time.Minute
)

// input is where the task reads bytes from: Read never blocks (it returns
// io.EOF when nothing is available now) and wait sleeps until data may be
// available, d has passed or ctx is done.
type input interface {
	io.Reader
	wait(ctx context.Context, d time.Duration)
	Close() error
}

// sourceTask reads lines from a file or standard input.
type sourceTask struct {
	filename  string // "" reads standard input
	topic     string
	batchSize int
	partition map[string]any
	ctx       connect.SourceTaskContext

	in    input
	lines lineBuffer

	idleWait time.Duration
	// stdin opens standard input; tests replace it.
	stdin func() input
	// missingWarned is when the task last warned that the file is
	// missing; zero once it was found.
	missingWarned time.Time
}

func newSourceTask() *sourceTask {
	return &sourceTask{idleWait: defaultIdleWait, stdin: sharedStdin}
}

// Start implements connect.SourceTask.
func (t *sourceTask) Start(ctx connect.SourceTaskContext, config map[string]string) error {
	cfg, err := SourceConfig.Parse(config)
	if err != nil {
		return fmt.Errorf("start FileStreamSourceTask: %w", err)
	}
	t.ctx = ctx
	t.filename = cfg.String(FileConfig)
	t.topic = cfg.String(TopicConfig)
	t.batchSize = max(int(cfg.Int(BatchSizeConfig)), 1)
	if t.filename == "" {
		// Offsets of standard input mean nothing, so Kafka leaves them null.
		t.partition = map[string]any{filenameField: nil}
		t.in = t.stdin()
	} else {
		t.partition = map[string]any{filenameField: t.filename}
	}
	return nil
}

// Poll implements connect.SourceTask: it returns up to batch.size complete
// lines, or waits a little for the file to appear or grow and returns none.
func (t *sourceTask) Poll(ctx context.Context) ([]*connect.Record, error) {
	if t.in == nil {
		f, err := t.open()
		if errors.Is(err, fs.ErrNotExist) {
			t.warnMissing(ctx)
			_ = kit.Sleep(ctx, missingFileWait) // cancelled: the worker stops polling
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		if !t.missingWarned.IsZero() {
			connect.Logger(ctx).Info("found file for FileStreamSourceTask; reading it", "file", t.filename)
			t.missingWarned = time.Time{}
		}
		t.in = f
	}
	records, err := t.readBatch()
	if err != nil || len(records) > 0 {
		return records, err
	}
	t.in.wait(ctx, t.idleWait)
	return nil, nil
}

// warnMissing logs, at most once every missingFileWarnEvery, that the file
// does not exist yet, in Kafka's words.
func (t *sourceTask) warnMissing(ctx context.Context) {
	if !t.missingWarned.IsZero() && time.Since(t.missingWarned) < missingFileWarnEvery {
		return
	}
	t.missingWarned = time.Now()
	connect.Logger(ctx).Warn(fmt.Sprintf("Couldn't find file %s for FileStreamSourceTask, sleeping to wait for it to be created", t.filename),
		"file", t.filename, "warn_every", missingFileWarnEvery)
}

// readBatch returns the complete lines available now, at most batch.size.
func (t *sourceTask) readBatch() ([]*connect.Record, error) {
	var records []*connect.Record
	now := time.Now()
	for len(records) < t.batchSize {
		line, ok := t.lines.next()
		if ok {
			records = append(records, t.record(line, now))
			continue
		}
		n, err := t.lines.fill(t.in)
		if n > 0 {
			continue
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return records, fmt.Errorf("read %s: %w", t.logName(), err)
		}
		break
	}
	return records, nil
}

func (t *sourceTask) record(line string, now time.Time) *connect.Record {
	var pos any
	if t.filename != "" {
		pos = t.lines.pos
	}
	r := connect.NewSourceRecord(t.partition, map[string]any{positionField: pos}, t.topic,
		nil, nil, connect.StringSchema, line)
	r.Timestamp = now
	return r
}

// open opens the file and seeks to the committed position.
func (t *sourceTask) open() (*fileInput, error) {
	pos, err := t.committedPosition()
	if err != nil {
		return nil, err
	}
	f, err := os.Open(t.filename)
	if err != nil {
		return nil, fmt.Errorf("open source file: %w", err)
	}
	if pos > 0 {
		if _, err := f.Seek(pos, io.SeekStart); err != nil {
			f.Close()
			return nil, fmt.Errorf("seek %s to committed position %d: %w", t.filename, pos, err)
		}
	}
	t.lines = lineBuffer{pos: pos}
	return &fileInput{f}, nil
}

// committedPosition returns the position committed for the file, or 0.
func (t *sourceTask) committedPosition() (int64, error) {
	if t.ctx == nil {
		return 0, nil
	}
	off, err := t.ctx.Offset(t.partition)
	if err != nil {
		return 0, fmt.Errorf("read committed offset of %s: %w", t.filename, err)
	}
	// Kafka's FileStreamSourceTask says "Offset position is the
	// incorrect type" of a position that is not a long.
	pos, ok, err := off.Int(positionField)
	if err != nil {
		return 0, fmt.Errorf("resume %s: Offset position is the incorrect type: %w", t.filename, err)
	}
	if pos < 0 {
		return 0, fmt.Errorf("resume %s from %d: Offset position is the incorrect type: %w: a position is not negative", t.filename, pos, connect.ErrOffset)
	}
	if !ok {
		return 0, nil
	}
	return pos, nil
}

// Stop implements connect.SourceTask.
func (t *sourceTask) Stop() error {
	if t.in == nil {
		return nil
	}
	err := t.in.Close()
	t.in = nil
	if err != nil {
		return fmt.Errorf("close %s: %w", t.logName(), err)
	}
	return nil
}

func (t *sourceTask) logName() string {
	if t.filename == "" {
		return "stdin"
	}
	return t.filename
}

// fileInput reads a regular file, whose reads return io.EOF at its current
// end and new bytes once it has grown.
type fileInput struct{ *os.File }

func (fileInput) wait(ctx context.Context, d time.Duration) { _ = kit.Sleep(ctx, d) }
