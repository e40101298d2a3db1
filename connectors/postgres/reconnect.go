package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// lostConnection reports whether err means a connection to the server was
// lost (network error, server shutdown, terminated backend), after which
// reconnecting may succeed.
func lostConnection(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		// 08: connection exception; 57P01-57P03: admin or crash shutdown,
		// cannot connect now.
		return strings.HasPrefix(pgErr.Code, "08") || pgErr.Code == "57P01" || pgErr.Code == "57P02" || pgErr.Code == "57P03"
	}
	var netErr net.Error
	return errors.As(err, &netErr) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || pgconn.SafeToRetry(err)
}

// restart reconnects after a lost connection and resumes from the
// committed offset, as a restarted task would: changes handed to Poll but
// not yet committed are sent again.
func (t *sourceTask) restart() error {
	t.cancel()
	<-t.done
	t.closeConns()
	t.conn, t.repl = nil, nil
	t.batches.Reset() // read again from the committed offset
	var err error
	if t.resume, err = readResume(t.ctx, t.sourcePartition()); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := t.connect(ctx, t.cfg.raw); err != nil {
		t.closeConns()
		return err
	}
	if err := t.prepare(ctx); err != nil {
		t.closeConns()
		return fmt.Errorf("prepare slot and publication: %w", err)
	}
	t.launch()
	return nil
}
