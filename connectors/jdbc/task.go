package jdbc

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/sluicehq/sluice/connectors/kit"
	"github.com/sluicehq/sluice/runtime/connect"

	_ "github.com/go-sql-driver/mysql" // the "mysql" database/sql driver
	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver
)

// sinkTask turns records into ops in Put, buffers them, and writes the
// buffer in one transaction when batch.size ops are buffered and at every
// Flush; Flush returns the offsets only once everything buffered was
// committed (or reported as bad).
type sinkTask struct {
	ctx connect.SinkTaskContext
	s   *settings
	w   *writer
	log *slog.Logger
	buf []*op
}

func newSinkTask() *sinkTask { return &sinkTask{} }

// pingTimeout bounds the connection check at start and in validation.
const pingTimeout = 10 * time.Second

// Start implements connect.SinkTask: it resolves the config and connects.
func (t *sinkTask) Start(ctx connect.SinkTaskContext, config map[string]string) error {
	s, err := resolve(config)
	if err != nil {
		return fmt.Errorf("start JDBC sink task: %w", err)
	}
	t.ctx, t.s, t.log = ctx, s, ctx.Logger()
	var db *sql.DB
	for attempt := 1; ; attempt++ {
		if db, err = open(context.Background(), s); err == nil {
			break
		}
		if attempt >= s.connAttempts || !isTransient(err) {
			return fmt.Errorf("start JDBC sink task (%d connection attempts): %w", attempt, err)
		}
		t.log.Warn("JDBC sink could not connect, retrying", "error", err, "attempt", attempt, "wait", s.connBackoff)
		time.Sleep(s.connBackoff)
	}
	t.w = &writer{s: s, db: db, known: map[string]bool{}}
	t.log.Info("JDBC sink task started", "host", s.target.host, "front", s.front.class(), "insert.mode", s.mode, "pk.mode", string(s.pk),
		"dialect", s.target.dialect.String(), "pool", s.pool.String())
	return nil
}

// open opens the database and checks it answers, bounded by pingTimeout.
func open(ctx context.Context, s *settings) (*sql.DB, error) {
	db, err := sql.Open(s.target.driver, s.target.dsn)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", s.target.host, err)
	}
	// One writer at a time and a second connection for the table lookups
	// need two; Debezium's connection.pool.* keys may allow more.
	db.SetMaxOpenConns(s.pool.maxOpen)
	db.SetMaxIdleConns(s.pool.maxIdle)
	db.SetConnMaxIdleTime(s.pool.idle)
	pctx, cancel := context.WithTimeout(ctx, pingTimeout)
	defer cancel()
	if err := db.PingContext(pctx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("connect to %s: %w", s.target.host, err)
	}
	if s.target.dialect == mysqlDialect {
		var version string
		if err := db.QueryRowContext(pctx, "SELECT VERSION()").Scan(&version); err != nil {
			_ = db.Close()
			return nil, fmt.Errorf("read the server version of %s: %w", s.target.host, err)
		}
		s.target.dialect = serverDialect(s.target.dialect, version)
	}
	return db, nil
}

// Put implements connect.SinkTask: records that cannot be converted are
// reported (errors.tolerance / DLQ); the others are buffered, and the
// buffer written once it holds batch.size ops.
func (t *sinkTask) Put(ctx context.Context, records []*connect.Record) error {
	for _, r := range records {
		o, why, err := t.s.interpret(r)
		if err != nil {
			if rerr := t.ctx.Report(r, err); rerr != nil {
				return rerr
			}
			continue
		}
		if o == nil {
			t.log.Debug("JDBC sink skipped a record", "why", why, "topic", r.Topic, "partition", r.Partition, "offset", r.Offset)
			continue
		}
		t.buf = append(t.buf, o)
		if len(t.buf) >= t.s.batchSize {
			if err := t.flushBuffer(ctx); err != nil {
				return err
			}
		}
	}
	return nil
}

// Flush implements connect.SinkTask: it writes the buffer and returns
// current only when it was committed; on an error nothing is committed
// and the buffer stays.
func (t *sinkTask) Flush(ctx context.Context, current map[connect.TopicPartition]int64) (map[connect.TopicPartition]int64, error) {
	if err := t.flushBuffer(ctx); err != nil {
		if ctx.Err() != nil && isTransient(err) {
			// The worker's flush timeout (offset.flush.timeout.ms) ended
			// retries that may yet succeed: the worker flushes again at
			// its next interval, the buffer kept.
			return nil, connect.Retriable(fmt.Errorf("JDBC sink flush: %w", err))
		}
		return nil, err
	}
	return current, nil
}

// flushBuffer writes the buffer in one transaction. A row's error makes
// it write row by row to report the bad records; a lost connection is
// retried max.retries (flush.max.retries) times with the configured wait,
// on a new connection; anything else fails the task.
func (t *sinkTask) flushBuffer(ctx context.Context) error {
	for attempt := 0; len(t.buf) > 0; attempt++ {
		n := len(t.buf)
		err := t.w.write(ctx, t.buf)
		if err == nil {
			t.log.Debug("JDBC sink wrote a batch", "records", n)
			clear(t.buf)
			t.buf = t.buf[:0]
			return nil
		}
		if isRowError(err) {
			t.log.Debug("JDBC sink batch failed on a row; writing row by row", "error", err)
			if err = t.oneByOne(ctx); err == nil {
				return nil
			}
		}
		if ctx.Err() != nil || !isTransient(err) {
			return err
		}
		if attempt >= t.s.maxRetries {
			return fmt.Errorf("JDBC sink: gave up after %d retries: %w", attempt, err)
		}
		wait := t.s.backoff.Delay(attempt)
		t.log.Warn("JDBC sink write failed, retrying", "error", err, "attempt", attempt+1, "wait", wait)
		if serr := kit.Sleep(ctx, wait); serr != nil {
			return fmt.Errorf("%w (retries stopped: %w)", err, serr)
		}
	}
	return nil
}

// oneByOne writes the buffer one op per transaction, reporting each op
// whose row the database refuses with the SQL error, table and column.
// Written ops leave the buffer as they commit, so a retry after a lost
// connection resumes after them.
func (t *sinkTask) oneByOne(ctx context.Context) error {
	for len(t.buf) > 0 {
		o := t.buf[0]
		if err := t.w.write(ctx, t.buf[:1]); err != nil {
			if !isRowError(err) {
				return err
			}
			if rerr := t.ctx.Report(o.rec, recordError(o.rec, "", "%s", describe(err, o.table))); rerr != nil {
				return rerr
			}
		}
		t.buf[0] = nil
		t.buf = t.buf[1:]
	}
	return nil
}

// Stop implements connect.SinkTask. Calling it again does nothing.
func (t *sinkTask) Stop() error {
	if t.w == nil || t.w.db == nil {
		return nil
	}
	t.w.closeStmts()
	err := t.w.db.Close()
	t.w.db = nil
	if err != nil && !errors.Is(err, sql.ErrConnDone) {
		return fmt.Errorf("JDBC sink: close: %w", err)
	}
	return nil
}
