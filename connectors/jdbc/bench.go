package jdbc

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sluicehq/sluice/connectors/kit"
	"github.com/sluicehq/sluice/runtime/connect"
)

// BenchOptions configure [Bench]: upserts of 10-column rows through one
// sink task, beside the same upserts issued directly with the same driver.
type BenchOptions struct {
	// URL is the JDBC URL (jdbc:postgresql://…, jdbc:mysql://…,
	// jdbc:mariadb://…); User and Password as connection.user and
	// connection.password.
	URL, User, Password string
	// Rows per run and per side, a multiple of Batch; Batch is the
	// records of one Put, the sink's batch.size, and the rows of one
	// direct statement.
	Rows, Batch int
	// Keys is how many distinct ids the rows cycle over (0: the smaller
	// of Rows and 50,000): past the first Keys rows every upsert updates.
	Keys int
	// Runs alternate sink and direct, each run on emptied tables.
	Runs int
	// Progress, if not nil, gets a line per run.
	Progress io.Writer
}

// BenchResult is what [Bench] measured.
type BenchResult struct {
	Dialect           string
	Rows, Batch, Keys int
	// Sink and Direct are the time of each run, in order.
	Sink, Direct []time.Duration
}

// SinkRowsPerSec and DirectRowsPerSec are the median rates of the runs;
// Ratio is the sink's over the direct driver's.
func (r BenchResult) SinkRowsPerSec() float64   { return medianRate(r.Rows, r.Sink) }
func (r BenchResult) DirectRowsPerSec() float64 { return medianRate(r.Rows, r.Direct) }
func (r BenchResult) Ratio() float64            { return r.SinkRowsPerSec() / r.DirectRowsPerSec() }

// Summary renders the result.
func (r BenchResult) Summary() string {
	return fmt.Sprintf("jdbc %s: %d rows of 10 columns per run (%d keys), batches of %d, median of %d runs: "+
		"sink task %.0f rows/s; direct driver %.0f rows/s; ratio (sink / direct) %.2f",
		r.Dialect, r.Rows, r.Keys, r.Batch, len(r.Sink), r.SinkRowsPerSec(), r.DirectRowsPerSec(), r.Ratio())
}

func medianRate(rows int, ds []time.Duration) float64 {
	if len(ds) == 0 {
		return 0
	}
	rates := make([]float64, len(ds))
	for i, d := range ds {
		rates[i] = float64(rows) / d.Seconds()
	}
	slices.Sort(rates)
	if len(rates)%2 == 1 {
		return rates[len(rates)/2]
	}
	return (rates[len(rates)/2-1] + rates[len(rates)/2]) / 2
}

// benchDefaultKeys is the most distinct ids of a run when Keys is 0.
const benchDefaultKeys = 50000

// The tables of a benchmark: the sink creates its own (auto.create), the
// direct one is created with the same DDL.
const (
	BenchSinkTable   = "bench_sink"
	BenchDirectTable = "bench_direct"
)

// benchSchema is a 10-column row: an int64 key and nine values.
var benchSchema = func() *connect.Schema {
	b := connect.StructBuilder().Name("sluice.bench.Row").Field("id", connect.Int64Schema)
	for i := range 3 {
		b.Field(fmt.Sprintf("s%d", i), connect.OptionalStringSchema)
		b.Field(fmt.Sprintf("n%d", i), connect.OptionalInt64Schema)
		b.Field(fmt.Sprintf("f%d", i), connect.OptionalFloat64Schema)
	}
	return b.Build()
}()

// benchRecord is the row of id: text, numbers and floats derived from it,
// so that the rows written can be checked (see [benchCheck]).
func benchRecord(id int64) *connect.Record {
	v := connect.NewStruct(benchSchema).MustPut("id", id)
	for c := range 3 {
		v.MustPut("s"+strconv.Itoa(c), "value-"+strconv.FormatInt(id, 10)+"-"+strconv.Itoa(c)).
			MustPut("n"+strconv.Itoa(c), id*int64(c)).MustPut("f"+strconv.Itoa(c), float64(id)/3)
	}
	return &connect.Record{Topic: "bench", Offset: id, ValueSchema: benchSchema, Value: v}
}

// benchRows holds the rows of ids 0..keys-1 as records and as the values
// a program would bind, and hands out batches of them cycling over the
// ids: batch i is rows i*size … i*size+size-1, modulo keys.
type benchRows struct {
	recs []*connect.Record
	args [][]any
	size int
	// batch and bound are reused by each call of records and values.
	batch []*connect.Record
	bound []any
}

func newBenchRows(keys, size int) *benchRows {
	b := &benchRows{size: size, batch: make([]*connect.Record, size), bound: make([]any, 0, size*len(benchSchema.Fields))}
	for id := range keys {
		r := benchRecord(int64(id))
		st := r.Value.(*connect.Struct)
		args := make([]any, len(benchSchema.Fields))
		for i := range benchSchema.Fields {
			args[i] = st.GetField(&benchSchema.Fields[i])
		}
		b.recs, b.args = append(b.recs, r), append(b.args, args)
	}
	return b
}

// records returns batch i as records; the slice is reused by the next
// call.
func (b *benchRows) records(i int) []*connect.Record {
	for j := range b.batch {
		b.batch[j] = b.recs[(i*b.size+j)%len(b.recs)]
	}
	return b.batch
}

// values returns batch i as the arguments of one multi-row statement;
// the slice is reused by the next call.
func (b *benchRows) values(i int) []any {
	b.bound = b.bound[:0]
	for j := range b.size {
		b.bound = append(b.bound, b.args[(i*b.size+j)%len(b.args)]...)
	}
	return b.bound
}

// BenchSinkConfig is the sink config of a benchmark: the Confluent JDBC
// sink upserting by the value's id into [BenchSinkTable], creating it,
// batch.size batch.
func BenchSinkConfig(url, user, password string, batch int) map[string]string {
	cfg := map[string]string{"connector.class": ConfluentClass, "connection.url": url,
		"insert.mode": "upsert", "pk.mode": "record_value", "pk.fields": "id", "auto.create": "true",
		"table.name.format": BenchSinkTable, "batch.size": strconv.Itoa(batch)}
	if user != "" {
		cfg["connection.user"] = user
	}
	if password != "" {
		cfg["connection.password"] = password
	}
	return cfg
}

// benchSink is one sink task writing a benchmark's rows.
type benchSink struct{ task *sinkTask }

func startBenchSink(cfg map[string]string) (*benchSink, error) {
	task := newSinkTask()
	if err := task.Start(kit.BenchSinkContext{Cfg: cfg}, cfg); err != nil {
		return nil, err
	}
	return &benchSink{task}, nil
}

// put writes batches from..to-1 through Put, then flushes.
func (s *benchSink) put(ctx context.Context, rows *benchRows, from, to int) error {
	for i := from; i < to; i++ {
		if err := s.task.Put(ctx, rows.records(i)); err != nil {
			return fmt.Errorf("jdbc bench: sink put: %w", err)
		}
	}
	if _, err := s.task.Flush(ctx, nil); err != nil {
		return fmt.Errorf("jdbc bench: sink flush: %w", err)
	}
	return nil
}

func (s *benchSink) close() { _ = s.task.Stop() }

// benchDirect is the baseline: what a minimal Go program does with the
// same driver and DSN, one multi-row upsert statement per batch (prepared
// once), one transaction per batch.
type benchDirect struct {
	db   *sql.DB
	stmt *sql.Stmt
}

// benchDirectSQL is the upsert a Go developer writes by hand for rows
// rows of benchSchema.
func benchDirectSQL(d dialect, table string, rows int) string {
	var names, sets []string
	for _, f := range benchSchema.Fields {
		names = append(names, f.Name)
		if f.Name == "id" {
			continue
		}
		if d == postgresDialect {
			sets = append(sets, f.Name+" = EXCLUDED."+f.Name)
		} else {
			sets = append(sets, f.Name+" = VALUES("+f.Name+")")
		}
	}
	var b strings.Builder
	b.WriteString("INSERT INTO " + table + " (" + strings.Join(names, ", ") + ") VALUES ")
	n := 0
	for r := range rows {
		if r > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('(')
		for c := range names {
			if c > 0 {
				b.WriteByte(',')
			}
			n++
			if d == postgresDialect {
				b.WriteString("$" + strconv.Itoa(n))
			} else {
				b.WriteByte('?')
			}
		}
		b.WriteByte(')')
	}
	if d == postgresDialect {
		b.WriteString(" ON CONFLICT (id) DO UPDATE SET " + strings.Join(sets, ", "))
	} else {
		b.WriteString(" ON DUPLICATE KEY UPDATE " + strings.Join(sets, ", "))
	}
	return b.String()
}

// startBenchDirect opens t's database, (re)creates [BenchDirectTable]
// with the sink's DDL for benchSchema and prepares the upsert of batch
// rows.
func startBenchDirect(ctx context.Context, t *target, batch int) (*benchDirect, error) {
	db, err := sql.Open(t.driver, t.dsn)
	if err != nil {
		return nil, fmt.Errorf("jdbc bench: open %s: %w", t.host, err)
	}
	cols := make([]column, len(benchSchema.Fields))
	for i, f := range benchSchema.Fields {
		cols[i] = column{Name: f.Name, Schema: f.Schema, Key: f.Name == "id"}
	}
	create, err := t.dialect.createTableSQL(BenchDirectTable, cols, false)
	if err == nil {
		_, err = db.ExecContext(ctx, "DROP TABLE IF EXISTS "+BenchDirectTable)
	}
	if err == nil {
		_, err = db.ExecContext(ctx, create)
	}
	var stmt *sql.Stmt
	if err == nil {
		stmt, err = db.PrepareContext(ctx, benchDirectSQL(t.dialect, BenchDirectTable, batch))
	}
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("jdbc bench: direct table %s: %w", BenchDirectTable, err)
	}
	return &benchDirect{db: db, stmt: stmt}, nil
}

// put writes batches from..to-1, each in its own transaction.
func (d *benchDirect) put(ctx context.Context, rows *benchRows, from, to int) error {
	for i := from; i < to; i++ {
		tx, err := d.db.BeginTx(ctx, nil)
		if err != nil {
			return fmt.Errorf("jdbc bench: direct begin: %w", err)
		}
		if _, err := tx.StmtContext(ctx, d.stmt).ExecContext(ctx, rows.values(i)...); err != nil {
			_ = tx.Rollback()
			return fmt.Errorf("jdbc bench: direct upsert: %w", err)
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("jdbc bench: direct commit: %w", err)
		}
	}
	return nil
}

func (d *benchDirect) close() {
	_ = d.stmt.Close()
	_ = d.db.Close()
}

// Validate reports every problem with o at once.
func (o BenchOptions) Validate() error {
	var errs []error
	if _, err := parseURL(o.URL, o.User, o.Password); err != nil {
		errs = append(errs, err)
	}
	if o.Batch < 1 || o.Rows < 1 || o.Runs < 1 || o.Keys < 0 {
		errs = append(errs, errors.New("rows, batch and runs must be at least 1, keys at least 0"))
	} else {
		if o.Rows%o.Batch != 0 {
			errs = append(errs, fmt.Errorf("rows (%d) must be a multiple of batch (%d)", o.Rows, o.Batch))
		}
		if o.keys() < o.Batch {
			errs = append(errs, fmt.Errorf("keys (%d) must be at least batch (%d): a statement cannot upsert one row twice", o.keys(), o.Batch))
		}
	}
	if o.Batch*len(benchSchema.Fields) > maxParams {
		errs = append(errs, fmt.Errorf("batch %d: %d rows of %d columns pass the %d placeholders of one statement", o.Batch, o.Batch, len(benchSchema.Fields), maxParams))
	}
	return errors.Join(errs...)
}

func (o BenchOptions) keys() int {
	if o.Keys > 0 {
		return o.Keys
	}
	return min(o.Rows, benchDefaultKeys)
}

// Bench runs the benchmark. It (re)creates [BenchSinkTable] and
// [BenchDirectTable], warms both sides with one untimed batch, then runs
// o.Runs times: both tables emptied (untimed), then o.Rows rows through
// the sink task (Put in batches of o.Batch, then Flush) and through the
// direct driver, sink first on even runs and direct first on odd ones.
// After each run it checks that both tables hold every key's row.
func Bench(ctx context.Context, o BenchOptions) (BenchResult, error) {
	if err := o.Validate(); err != nil {
		return BenchResult{}, fmt.Errorf("jdbc bench: %w", err)
	}
	t, _ := parseURL(o.URL, o.User, o.Password)
	res := BenchResult{Dialect: t.dialect.String(), Rows: o.Rows, Batch: o.Batch, Keys: o.keys()}
	rows := newBenchRows(res.Keys, o.Batch)
	direct, err := startBenchDirect(ctx, t, o.Batch)
	if err != nil {
		return res, err
	}
	defer direct.close()
	if _, err := direct.db.ExecContext(ctx, "DROP TABLE IF EXISTS "+BenchSinkTable); err != nil {
		return res, fmt.Errorf("jdbc bench: drop %s: %w", BenchSinkTable, err)
	}
	sink, err := startBenchSink(BenchSinkConfig(o.URL, o.User, o.Password, o.Batch))
	if err != nil {
		return res, fmt.Errorf("jdbc bench: start sink task: %w", err)
	}
	defer sink.close()
	// Warm up: the sink creates its table, both sides prepare.
	if err := sink.put(ctx, rows, 0, 1); err != nil {
		return res, err
	}
	if err := direct.put(ctx, rows, 0, 1); err != nil {
		return res, err
	}
	batches := o.Rows / o.Batch
	sides := []struct {
		name string
		put  func(context.Context, *benchRows, int, int) error
		took *[]time.Duration
	}{{"sink", sink.put, &res.Sink}, {"direct", direct.put, &res.Direct}}
	for run := range o.Runs {
		for _, table := range []string{BenchSinkTable, BenchDirectTable} {
			if _, err := direct.db.ExecContext(ctx, t.dialect.truncateSQL(table, false)); err != nil {
				return res, fmt.Errorf("jdbc bench: empty %s: %w", table, err)
			}
		}
		for k := range sides {
			side := sides[(k+run)%2]
			begin := time.Now()
			if err := side.put(ctx, rows, 0, batches); err != nil {
				return res, err
			}
			*side.took = append(*side.took, time.Since(begin))
		}
		for _, table := range []string{BenchSinkTable, BenchDirectTable} {
			if err := benchCheck(ctx, direct.db, table, res.Keys); err != nil {
				return res, err
			}
		}
		if o.Progress != nil {
			fmt.Fprintf(o.Progress, "jdbc %s run %d/%d: sink %.0f rows/s, direct %.0f rows/s\n", res.Dialect, run+1, o.Runs,
				float64(o.Rows)/res.Sink[run].Seconds(), float64(o.Rows)/res.Direct[run].Seconds())
		}
	}
	return res, nil
}

// benchCheck checks that table holds the rows of ids 0..keys-1 with
// their values: the count of rows, of distinct ids, and sums of columns.
func benchCheck(ctx context.Context, db *sql.DB, table string, keys int) error {
	var n, ids, idSum, n2Sum int64
	var s1Len int64
	q := "SELECT COUNT(*), COUNT(DISTINCT id), COALESCE(SUM(id), 0), COALESCE(SUM(n2), 0), COALESCE(SUM(LENGTH(s1)), 0) FROM " + table
	if err := db.QueryRowContext(ctx, q).Scan(&n, &ids, &idSum, &n2Sum, &s1Len); err != nil {
		return fmt.Errorf("jdbc bench: check %s: %w", table, err)
	}
	k := int64(keys)
	var wantLen int64
	for id := range k {
		wantLen += int64(len("value-" + strconv.FormatInt(id, 10) + "-1"))
	}
	want := [5]int64{k, k, k * (k - 1) / 2, 2 * k * (k - 1) / 2, wantLen}
	if got := [5]int64{n, ids, idSum, n2Sum, s1Len}; got != want {
		return fmt.Errorf("jdbc bench: table %s holds (rows, ids, sum id, sum n2, sum len s1) %v, want %v", table, got, want)
	}
	return nil
}
