package file

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"

	"github.com/sluicehq/sluice/internal/javafmt/javavalue"
	"github.com/sluicehq/sluice/runtime/connect"
)

const sinkBufferSize = 64 << 10

// sinkTask appends record values to a file or standard output, one per line.
type sinkTask struct {
	filename string // "" writes standard output
	file     *os.File
	w        *bufio.Writer
	line     []byte // reused to render one line

	// stdout is where a sink without a file writes; tests replace it.
	stdout io.Writer
}

func newSinkTask() *sinkTask { return &sinkTask{stdout: os.Stdout} }

// Start implements connect.SinkTask: it opens the file for appending,
// creating it if needed.
func (t *sinkTask) Start(_ connect.SinkTaskContext, config map[string]string) error {
	cfg, err := SinkConfig.Parse(config)
	if err != nil {
		return fmt.Errorf("start FileStreamSinkTask: %w", err)
	}
	if cfg.IsNull(FileConfig) {
		t.w = bufio.NewWriterSize(t.stdout, sinkBufferSize)
		return nil
	}
	t.filename = cfg.String(FileConfig)
	f, err := os.OpenFile(t.filename, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("open %s for appending: %w", t.filename, err)
	}
	t.file = f
	t.w = bufio.NewWriterSize(f, sinkBufferSize)
	return nil
}

// Put implements connect.SinkTask: it writes one line per record. The
// batch reaches the file (not yet the disk) before Put returns, as Kafka's
// task does, so a tail of the file sees records as they arrive; Flush
// fsyncs.
func (t *sinkTask) Put(_ context.Context, records []*connect.Record) error {
	for _, r := range records {
		t.line = javavalue.Append(t.line[:0], r.ValueSchema, r.Value)
		t.line = append(t.line, '\n')
		// Write whole lines only, so tasks appending to the same file
		// interleave lines, never parts of lines.
		if len(t.line) > t.w.Available() && t.w.Buffered() > 0 {
			if err := t.w.Flush(); err != nil {
				return fmt.Errorf("write to %s: %w", t.logName(), err)
			}
		}
		if _, err := t.w.Write(t.line); err != nil {
			return fmt.Errorf("write to %s: %w", t.logName(), err)
		}
	}
	if err := t.w.Flush(); err != nil {
		return fmt.Errorf("write to %s: %w", t.logName(), err)
	}
	return nil
}

// Flush implements connect.SinkTask: it writes out the buffer and fsyncs the
// file, after which all of current is safe to commit.
func (t *sinkTask) Flush(_ context.Context, current map[connect.TopicPartition]int64) (map[connect.TopicPartition]int64, error) {
	if err := t.sync(); err != nil {
		return nil, err
	}
	return current, nil
}

func (t *sinkTask) sync() error {
	if err := t.w.Flush(); err != nil {
		return fmt.Errorf("flush %s: %w", t.logName(), err)
	}
	if t.file != nil {
		if err := t.file.Sync(); err != nil {
			return fmt.Errorf("fsync %s: %w", t.filename, err)
		}
	}
	return nil
}

// Stop implements connect.SinkTask: it writes out what is buffered and
// closes the file. Calling it again does nothing.
func (t *sinkTask) Stop() error {
	if t.w == nil {
		return nil
	}
	err := t.w.Flush()
	t.w = nil
	if t.file != nil {
		if cerr := t.file.Close(); err == nil {
			err = cerr
		}
		t.file = nil
	}
	if err != nil {
		return fmt.Errorf("close %s: %w", t.logName(), err)
	}
	return nil
}

func (t *sinkTask) logName() string {
	if t.filename == "" {
		return "stdout"
	}
	return t.filename
}
