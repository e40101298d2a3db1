package e2e

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver, to read the Postgres copy
)

// jdbcSourceTable is the captured table: one column per type the JDBC
// sink must carry (int, text, numeric, timestamptz, bool, date, bytea,
// jsonb, uuid, smallint, timestamp), nullable except the key and name. REPLICA IDENTITY stays the
// default: the sinks key rows by the record key, which deletes carry.
const jdbcSourceTable = `CREATE TABLE items (
	id int PRIMARY KEY,
	name text NOT NULL,
	qty int,
	price numeric(12,2),
	at timestamptz,
	flag bool,
	day date,
	payload bytea,
	doc jsonb,
	code uuid,
	small smallint,
	ts timestamp)`

// jdbcWriter commits random transactions on items: inserts, updates,
// deletes and primary-key changes, one to five statements each, now and
// then a large one (a multi-row INSERT … SELECT, an UPDATE of many rows).
// After evolve is set it also writes the columns added by the schema
// change (note, score).
type jdbcWriter struct {
	ids       []int // live ids
	nextID    int
	evolved   bool
	committed atomic.Int64
}

func (w *jdbcWriter) randomID(rng *rand.Rand) (int, int, bool) {
	if len(w.ids) == 0 {
		return 0, 0, false
	}
	i := rng.IntN(len(w.ids))
	return w.ids[i], i, true
}

// jdbcNames exercise quoting and multi-byte text in both dialects.
var jdbcNames = []string{"plain", "naïve café", "O'Brien", `back\slash`, "snow ☃ man", "tab\tand\nnewline", "", "𝄞 clef"}

// values returns random column values for a row; some are NULL.
func (w *jdbcWriter) values(rng *rand.Rand) []any {
	maybe := func(v any) any {
		if rng.IntN(8) == 0 {
			return nil
		}
		return v
	}
	// Microsecond timestamps between 1990 and 2035, any offset: the sinks
	// keep the instant (timestamptz / DATETIME(6) in UTC).
	at := time.Unix(631152000+rng.Int64N(1420070400), rng.Int64N(1_000_000)*1000).
		In(time.FixedZone("", (rng.IntN(27)-12)*3600))
	blob := make([]byte, rng.IntN(40))
	for i := range blob {
		blob[i] = byte(rng.IntN(256))
	}
	doc := fmt.Sprintf(`{"n": %d, "tags": ["a", "b%d"], "nested": {"ok": %t, "s": "x\"y"}}`, rng.IntN(1000), rng.IntN(9), rng.IntN(2) == 0)
	price := fmt.Sprintf("%d.%02d", rng.IntN(1_000_000)-500_000, rng.IntN(100))
	day := time.Date(1900+rng.IntN(200), time.Month(1+rng.IntN(12)), 1+rng.IntN(28), 0, 0, 0, 0, time.UTC)
	vals := []any{jdbcNames[rng.IntN(len(jdbcNames))] + fmt.Sprint(rng.IntN(100)), maybe(rng.Int32()), maybe(price), maybe(at),
		maybe(rng.IntN(2) == 0), maybe(day), maybe(blob), maybe(doc),
		maybe(fmt.Sprintf("%08x-%04x-4%03x-a%03x-%012x", rng.Uint32(), rng.IntN(1<<16), rng.IntN(1<<12), rng.IntN(1<<12), rng.Int64N(1<<48))),
		maybe(int16(rng.IntN(1<<16) - 1<<15)),
		maybe(time.Date(1970+rng.IntN(100), time.Month(1+rng.IntN(12)), 1+rng.IntN(28), rng.IntN(24), rng.IntN(60), rng.IntN(60), rng.IntN(1_000_000)*1000, time.UTC))}
	if w.evolved {
		vals = append(vals, maybe(fmt.Sprintf("note %d", rng.IntN(1000))), maybe(rng.Int64N(1<<40)))
	}
	return vals
}

func (w *jdbcWriter) columns() string {
	cols := "name, qty, price, at, flag, day, payload, doc, code, small, ts"
	if w.evolved {
		cols += ", note, score"
	}
	return cols
}

func placeholders(from, n int) string {
	p := make([]string, n)
	for i := range p {
		p[i] = fmt.Sprintf("$%d", from+i)
	}
	return strings.Join(p, ", ")
}

// statement appends one random statement to tx's batch and applies it to
// the writer's ids (a failed transaction fails the test).
func (w *jdbcWriter) statement(ctx context.Context, tx pgx.Tx, rng *rand.Rand) error {
	id, i, ok := w.randomID(rng)
	op := rng.IntN(20)
	var sqlText string
	var args []any
	switch {
	case !ok || op < 7: // insert
		vals := w.values(rng)
		sqlText = "INSERT INTO items (id, " + w.columns() + ") VALUES ($1, " + placeholders(2, len(vals)) + ")"
		args = append([]any{w.nextID}, vals...)
		w.ids = append(w.ids, w.nextID)
		w.nextID++
	case op < 13: // update of every column but the key
		vals := w.values(rng)
		cols := strings.Split(w.columns(), ", ")
		set := make([]string, len(cols))
		for j, c := range cols {
			set[j] = fmt.Sprintf("%s = $%d", c, j+2)
		}
		sqlText = "UPDATE items SET " + strings.Join(set, ", ") + " WHERE id = $1"
		args = append([]any{id}, vals...)
	case op < 15: // update of one column
		sqlText, args = "UPDATE items SET qty = coalesce(qty, 0) + 1 WHERE id = $1", []any{id}
	case op < 18: // delete
		sqlText, args = "DELETE FROM items WHERE id = $1", []any{id}
		w.ids = slices.Delete(w.ids, i, i+1)
	default: // primary-key change: Debezium emits a delete and a create
		sqlText, args = "UPDATE items SET id = $2, name = name || ' moved' WHERE id = $1", []any{id, w.nextID}
		w.ids[i] = w.nextID
		w.nextID++
	}
	if _, err := tx.Exec(ctx, sqlText, args...); err != nil {
		return fmt.Errorf("%s %v: %w", sqlText, args, err)
	}
	return nil
}

// run commits txns transactions, pausing between them; the 50th inserts
// 300 rows in one statement and the 100th updates every third row.
func (w *jdbcWriter) run(ctx context.Context, conn *pgx.Conn, rng *rand.Rand, txns int, pause time.Duration) error {
	for n := range txns {
		tx, err := conn.Begin(ctx)
		if err != nil {
			return err
		}
		switch n % 150 {
		case 50:
			if _, err := tx.Exec(ctx, `INSERT INTO items (id, name, qty, price, at, flag, day, payload, doc)
				SELECT g, 'bulk ' || g, g, g * 1.25, now() - g * interval '1 minute', g % 2 = 0, date '2020-01-01' + g,
					decode(lpad(to_hex(g), 8, '0'), 'hex'), jsonb_build_object('g', g)
				FROM generate_series($1::int, $1::int + 299) g`, w.nextID); err != nil {
				return err
			}
			for g := w.nextID; g < w.nextID+300; g++ {
				w.ids = append(w.ids, g)
			}
			w.nextID += 300
		case 100:
			if _, err := tx.Exec(ctx, `UPDATE items SET qty = coalesce(qty, 0) - 1, flag = NOT coalesce(flag, false) WHERE id % 3 = 0`); err != nil {
				return err
			}
		default:
			for range 1 + rng.IntN(5) {
				if err := w.statement(ctx, tx, rng); err != nil {
					_ = tx.Rollback(ctx)
					return err
				}
			}
		}
		if err := tx.Commit(ctx); err != nil {
			return err
		}
		w.committed.Add(1)
		time.Sleep(pause)
	}
	return nil
}

// A table's rows in a canonical text form, per id. The comparison reads
// every column as text with SQL chosen per database so that equal values
// print alike:
//   - numeric/DECIMAL(12,2): the database's text form, both keep the scale;
//   - timestamptz/DATETIME(6): the instant in UTC with microseconds (the
//     sinks store ZonedTimestamp's instant; MariaDB's DATETIME has no zone);
//   - timestamp/DATETIME(6): the wall clock with microseconds;
//   - uuid/CHAR(36): the canonical lower-case form;
//   - bool/BOOLEAN: 1 or 0 (MariaDB's BOOLEAN is TINYINT(1));
//   - bytea/BLOB: lower-case hex;
//   - jsonb/JSON: parsed and re-encoded in Go (key order and spacing are
//     the only freedom: jsonb's text form vs the copy's stored text);
//   - NULL stays distinct from every text ("\x00NULL").
type tableDump map[string][]string

const pgDumpCols = `id::text, name, qty::text, price::text, to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US'),
	flag::int::text, day::text, encode(payload, 'hex'), doc::text, code::text, small::text, to_char(ts, 'YYYY-MM-DD HH24:MI:SS.US')`

const mariaDumpCols = "CAST(id AS CHAR), name, CAST(qty AS CHAR), CAST(price AS CHAR), DATE_FORMAT(at, '%Y-%m-%d %H:%i:%s.%f'), " +
	"CAST(flag AS CHAR), CAST(day AS CHAR), LOWER(HEX(payload)), CAST(doc AS CHAR), CAST(code AS CHAR), CAST(small AS CHAR), " +
	"DATE_FORMAT(ts, '%Y-%m-%d %H:%i:%s.%f')"

const jsonCol = 8 // doc's index in the dump columns

// dumpTable reads query's rows (id first) into a tableDump.
func dumpTable(ctx context.Context, db *sql.DB, query string) (tableDump, error) {
	rows, err := db.QueryContext(ctx, query)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	out := tableDump{}
	for rows.Next() {
		vals := make([]sql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		row := make([]string, len(cols))
		for i, v := range vals {
			switch {
			case !v.Valid:
				row[i] = "\x00NULL"
			case i == jsonCol:
				var x any
				if err := json.Unmarshal([]byte(v.String), &x); err != nil {
					return nil, fmt.Errorf("row %s: doc %q: %w", vals[0].String, v.String, err)
				}
				b, _ := json.Marshal(x)
				row[i] = string(b)
			default:
				row[i] = v.String
			}
		}
		out[row[0]] = row
	}
	return out, rows.Err()
}

// diff describes how got differs from want, at most a few rows; empty when
// they are equal.
func (want tableDump) diff(got tableDump) string {
	var b strings.Builder
	n := 0
	for id, w := range want {
		g, ok := got[id]
		switch {
		case !ok:
			fmt.Fprintf(&b, "  id %s missing (source %q)\n", id, w)
		case !slices.Equal(w, g):
			fmt.Fprintf(&b, "  id %s differs:\n    source %q\n    copy   %q\n", id, w, g)
		default:
			continue
		}
		if n++; n == 5 {
			break
		}
	}
	extra := 0
	for id := range got {
		if _, ok := want[id]; !ok {
			if extra++; extra <= 5 {
				fmt.Fprintf(&b, "  id %s extra (copy %q)\n", id, got[id])
			}
		}
	}
	if b.Len() > 0 {
		return fmt.Sprintf("%d rows in the source, %d in the copy:\n%s", len(want), len(got), b.String())
	}
	return ""
}
