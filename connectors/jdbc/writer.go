package jdbc

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
)

// writer runs buffered ops against the database: the DDL a table needs,
// then every op of a flush in one transaction.
type writer struct {
	s     *settings
	db    *sql.DB
	known map[string]bool       // op shapes whose table was checked (and created or evolved)
	stmts map[stmtKey]*sql.Stmt // multi-row statements, prepared once on the pool
	args  []any                 // a statement's arguments, reused: 10,000s of them per batch
}

// stmtKey identifies a multi-row statement: an op shape and a row count.
type stmtKey struct {
	sig  string
	rows int
}

// maxStmts bounds the cache of statements; past it the cache starts over.
var maxStmts = 256

// run is a stretch of ops of one table and shape, written by one
// statement per rowsPerStatement rows.
type run struct {
	ops []*op
}

// plan groups ops per table, keeping each table's order, into runs of
// the same shape. Changes of one key in a run keep only the last under
// deduplication (Debezium's reduction buffer; Confluent's upserts), or are
// cut into statements that never touch a row twice (Postgres refuses
// that) under passthrough; a delete or a
// change of shape starts a new run, so order per table holds (Debezium's
// rule of flushing buffered upserts before a delete, and the reverse).
func (w *writer) plan(ops []*op) []*run {
	var runs []*run
	last := map[string]*run{} // the open run of each table
	for _, o := range ops {
		r := last[o.table]
		if r == nil || r.ops[0].sig != o.sig || o.kind == opTruncate {
			r = &run{}
			runs = append(runs, r)
			last[o.table] = r
		}
		r.ops = append(r.ops, o)
	}
	if w.s.dedupe {
		for _, r := range runs {
			r.ops = lastPerKey(r.ops)
		}
	} else if w.s.mode == "upsert" {
		runs = splitRepeats(runs)
	}
	return runs
}

// splitRepeats cuts a run of writes where a key comes again, so that
// every change is written, in order, and no statement touches a row twice
// (Postgres refuses that in one INSERT … ON CONFLICT).
func splitRepeats(runs []*run) []*run {
	out := make([]*run, 0, len(runs))
	for _, r := range runs {
		if r.ops[0].kind != opWrite || r.ops[0].nkeys == 0 {
			out = append(out, r)
			continue
		}
		seen := make(map[string]bool, len(r.ops))
		cur := &run{}
		for _, o := range r.ops {
			if seen[o.key] {
				out = append(out, cur)
				cur = &run{}
				clear(seen)
			}
			seen[o.key] = true
			cur.ops = append(cur.ops, o)
		}
		out = append(out, cur)
	}
	return out
}

// lastPerKey keeps the last op of each key, in the order of those last ops.
func lastPerKey(ops []*op) []*op {
	if len(ops) < 2 || ops[0].nkeys == 0 {
		return ops
	}
	lastAt := make(map[string]int, len(ops))
	for i, o := range ops {
		lastAt[o.key] = i
	}
	if len(lastAt) == len(ops) {
		return ops
	}
	out := make([]*op, 0, len(lastAt))
	for i, o := range ops {
		if lastAt[o.key] == i {
			out = append(out, o)
		}
	}
	return out
}

// write makes ops durable in one transaction, after the DDL their tables
// need.
func (w *writer) write(ctx context.Context, ops []*op) error {
	runs := w.plan(ops)
	for _, r := range runs {
		if err := w.ensure(ctx, r.ops[0]); err != nil {
			return err
		}
	}
	// Prepared on the pool before the transaction takes a connection: with
	// connection.pool.max_size=1 a prepare inside it would wait forever
	// for a second one.
	for _, r := range runs {
		if err := w.prepareRun(ctx, r); err != nil {
			return err
		}
	}
	tx, err := w.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("JDBC sink: begin transaction: %w", err)
	}
	for _, r := range runs {
		if err := w.exec(ctx, tx, r); err != nil {
			_ = tx.Rollback()
			return err
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("JDBC sink: commit: %w", err)
	}
	return nil
}

// exec runs one run's statements in tx.
func (w *writer) exec(ctx context.Context, tx *sql.Tx, r *run) error {
	d, q, first := w.s.target.dialect, w.s.quote, r.ops[0]
	switch {
	case first.kind == opTruncate:
		return w.execSQL(ctx, tx, first.table, d.truncateSQL(first.table, q), nil)
	case first.kind == opWrite && w.s.mode == "update":
		stmt := d.updateSQL(first.table, first.cols, q)
		if stmt == "" {
			return nil
		}
		for _, o := range r.ops {
			if err := w.execSQL(ctx, tx, o.table, stmt, updateArgs(o)); err != nil {
				return err
			}
		}
		return nil
	}
	per := rowsPerStatement(len(first.cols))
	for start := 0; start < len(r.ops); start += per {
		chunk := r.ops[start:min(start+per, len(r.ops))]
		stmt, err := w.stmtIn(ctx, tx, first, len(chunk))
		if err != nil {
			return err
		}
		args := w.args[:0]
		for _, o := range chunk {
			args = append(args, o.vals...)
		}
		_, err = stmt.ExecContext(ctx, args...)
		clear(args) // hold no values of written records
		w.args = args[:0]
		if err != nil {
			return fmt.Errorf("JDBC sink: write table %s: %w", first.table, err)
		}
	}
	return nil
}

// prepareRun prepares the multi-row statements exec will run for r.
func (w *writer) prepareRun(ctx context.Context, r *run) error {
	first := r.ops[0]
	if first.kind == opTruncate || first.kind == opWrite && w.s.mode == "update" {
		return nil
	}
	per := rowsPerStatement(len(first.cols))
	for start := 0; start < len(r.ops); start += per {
		if _, err := w.prepared(ctx, first, min(per, len(r.ops)-start)); err != nil {
			return err
		}
	}
	return nil
}

// stmtIn returns the statement of rows ops shaped as o for tx: the one
// prepared on the pool, or, when the cache started over since, one
// prepared on tx's own connection (closed with tx).
func (w *writer) stmtIn(ctx context.Context, tx *sql.Tx, o *op, rows int) (*sql.Stmt, error) {
	if stmt, ok := w.stmts[stmtKey{o.sig, rows}]; ok {
		return tx.StmtContext(ctx, stmt), nil
	}
	stmt, err := tx.PrepareContext(ctx, w.statementText(o, rows))
	if err != nil {
		return nil, fmt.Errorf("JDBC sink: write table %s: %w", o.table, err)
	}
	return stmt, nil
}

// statementText is the multi-row insert, upsert or delete of rows ops
// shaped as o.
func (w *writer) statementText(o *op, rows int) string {
	d, q := w.s.target.dialect, w.s.quote
	if o.kind == opDelete {
		return d.deleteSQL(o.table, o.cols, rows, q)
	}
	return d.insertSQL(o.table, o.cols, rows, w.s.mode == "upsert", q)
}

// prepared returns the multi-row statement of rows ops shaped as o,
// prepared on the pool once: a batch then costs one round trip, where an
// unprepared statement with arguments costs MySQL a prepare, an execute
// and a close each time (and its 10,000s of markers parsed again).
func (w *writer) prepared(ctx context.Context, o *op, rows int) (*sql.Stmt, error) {
	key := stmtKey{o.sig, rows}
	if stmt, ok := w.stmts[key]; ok {
		return stmt, nil
	}
	stmt, err := w.db.PrepareContext(ctx, w.statementText(o, rows))
	if err != nil {
		return nil, fmt.Errorf("JDBC sink: write table %s: %w", o.table, err)
	}
	if len(w.stmts) >= maxStmts {
		w.closeStmts()
	}
	if w.stmts == nil {
		w.stmts = map[stmtKey]*sql.Stmt{}
	}
	w.stmts[key] = stmt
	return stmt, nil
}

// closeStmts closes the prepared statements and empties the cache.
func (w *writer) closeStmts() {
	for _, stmt := range w.stmts {
		_ = stmt.Close()
	}
	clear(w.stmts)
}

func (w *writer) execSQL(ctx context.Context, tx *sql.Tx, table, stmt string, args []any) error {
	if _, err := tx.ExecContext(ctx, stmt, args...); err != nil {
		return fmt.Errorf("JDBC sink: write table %s: %w", table, err)
	}
	return nil
}

// ensure checks, once per table and shape, that the table has o's
// columns: creating the table or adding the columns when DDL is on,
// failing naming what is missing when it is off.
func (w *writer) ensure(ctx context.Context, o *op) error {
	if o.kind != opWrite || w.known[o.sig] {
		return nil
	}
	d, name := w.s.target.dialect, o.table
	if d == postgresDialect && !w.s.quote {
		name = strings.ToLower(name) // unquoted names are folded
	}
	info, err := d.readTable(ctx, w.db, name)
	if err != nil {
		return fmt.Errorf("JDBC sink: read table %s: %w", o.table, err)
	}
	var ddl []string
	if info == nil {
		if !w.s.create {
			return fmt.Errorf("%w %s does not exist and %s: create it, or let the sink (%s)", errTable, o.table,
				w.ddlOff(), w.ddlKeys())
		}
		stmt, err := d.createTableSQL(o.table, o.cols, w.s.quote)
		if err != nil {
			return fmt.Errorf("%w %s: create: %w", errTable, o.table, err)
		}
		ddl = []string{stmt}
	} else {
		var missing []string
		for _, c := range o.cols {
			if _, ok := info.Columns[strings.ToLower(c.Name)]; !ok {
				missing = append(missing, c.Name)
			}
		}
		if len(missing) > 0 && !w.s.evolve {
			return fmt.Errorf("%w %s has no column %s and %s (%s)", errTable, o.table,
				strings.Join(missing, ", "), w.ddlOff(), w.ddlKeys())
		}
		if ddl, err = d.addColumnsSQL(info, o.table, o.cols, w.s.quote); err != nil {
			return fmt.Errorf("%w %s: evolve: %w", errTable, o.table, err)
		}
	}
	for _, stmt := range ddl {
		if _, err := w.db.ExecContext(ctx, stmt); err != nil {
			if isTransient(err) {
				return fmt.Errorf("JDBC sink: %s: %w", stmt, err)
			}
			return fmt.Errorf("%w %s: %s: %w", errTable, o.table, stmt, err)
		}
	}
	w.known[o.sig] = true
	return nil
}

func (w *writer) ddlOff() string {
	if w.s.front == confluent {
		return "auto.create/auto.evolve are off"
	}
	return "schema.evolution=none"
}

func (w *writer) ddlKeys() string {
	if w.s.front == confluent {
		return "auto.create=true, auto.evolve=true"
	}
	return "schema.evolution=basic"
}
