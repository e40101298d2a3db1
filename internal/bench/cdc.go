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

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// CDCOptions configure a Postgres CDC run: the Postgres connector in an
// in-process worker snapshots a generated table into the brokers, then
// streams updates of every row.
type CDCOptions struct {
	Brokers []string
	// DSN is a Postgres URL or key=value string; the user needs
	// REPLICATION and the right to create tables and publications.
	DSN  string
	Rows int
	// TxRows is the number of rows each update transaction changes.
	TxRows int
	// Converter is json (schemas.enable=false) or json-schemas.
	Converter string
	// Compression is the connector's producer.override.compression.type
	// (none, gzip, snappy, lz4, zstd); empty keeps the worker's.
	Compression string
}

// CDCResult is what a CDC run measured.
type CDCResult struct {
	Rows     int
	Snapshot time.Duration // connector created → every row in the topic
	Stream   time.Duration // connector resumed → every update in the topic
}

// SnapshotRowsPerSec is the snapshot rate.
func (r CDCResult) SnapshotRowsPerSec() float64 { return float64(r.Rows) / r.Snapshot.Seconds() }

// StreamEventsPerSec is the streaming rate.
func (r CDCResult) StreamEventsPerSec() float64 { return float64(r.Rows) / r.Stream.Seconds() }

// Summary renders the result.
func (r CDCResult) Summary() string {
	return fmt.Sprintf("snapshot: %d rows in %.2fs, %.0f rows/s\nstreaming: %d events in %.2fs, %.0f events/s",
		r.Rows, r.Snapshot.Seconds(), r.SnapshotRowsPerSec(), r.Rows, r.Stream.Seconds(), r.StreamEventsPerSec())
}

func parseCDCFlags(args []string, stderr io.Writer) (CDCOptions, error) {
	fs := flag.NewFlagSet("sluice bench cdc", flag.ContinueOnError)
	fs.SetOutput(stderr)
	brokers := fs.String("brokers", "127.0.0.1:9092", "comma-separated bootstrap brokers")
	o := CDCOptions{}
	fs.StringVar(&o.DSN, "dsn", "", "Postgres connection string (wal_level=logical, a user with REPLICATION)")
	fs.IntVar(&o.Rows, "rows", 100000, "rows in the generated table")
	fs.IntVar(&o.TxRows, "tx-rows", 1000, "rows changed per update transaction")
	fs.StringVar(&o.Converter, "converter", "json-schemas", "value converter: json or json-schemas")
	fs.StringVar(&o.Compression, "compression", "", "producer compression: none, gzip, snappy, lz4 or zstd (default: the worker's, none)")
	if err := parseFlags(fs, args); err != nil {
		return o, err
	}
	o.Brokers = strings.Split(*brokers, ",")
	var errs []error
	if o.DSN == "" {
		errs = append(errs, errors.New("--dsn is required"))
	}
	if o.Rows < 1 || o.TxRows < 1 {
		errs = append(errs, errors.New("--rows and --tx-rows must be positive"))
	}
	if o.Converter != "json" && o.Converter != "json-schemas" {
		errs = append(errs, fmt.Errorf("--converter %q: want json or json-schemas", o.Converter))
	}
	switch o.Compression {
	case "", "none", "gzip", "snappy", "lz4", "zstd":
	default:
		errs = append(errs, fmt.Errorf("--compression %q: want none, gzip, snappy, lz4 or zstd", o.Compression))
	}
	return o, errors.Join(errs...)
}

// CDC runs the snapshot and streaming measurements and cleans up the
// table, publication and slot it made.
func CDC(ctx context.Context, o CDCOptions, progress io.Writer) (CDCResult, error) {
	pc, err := pgconn.ParseConfig(o.DSN)
	if err != nil {
		return CDCResult{}, fmt.Errorf("parse --dsn: %w", err)
	}
	conn, err := pgx.Connect(ctx, o.DSN)
	if err != nil {
		return CDCResult{}, fmt.Errorf("connect to Postgres: %w", err)
	}
	defer conn.Close(context.Background())
	table := fmt.Sprintf("sluice_bench_%d", time.Now().UnixNano())
	if err := fillTable(ctx, conn, table, o.Rows); err != nil {
		return CDCResult{}, err
	}
	defer conn.Exec(context.Background(), "DROP TABLE IF EXISTS "+table)
	defer conn.Exec(context.Background(), "DROP PUBLICATION IF EXISTS "+table)

	w, err := startWorker(ctx, o.Brokers)
	if err != nil {
		return CDCResult{}, err
	}
	defer w.close()
	h := w.herder
	topic := "bench." + "public." + table
	sslmode := "prefer"
	if pc.TLSConfig == nil {
		sslmode = "disable"
	}
	cfg := map[string]string{
		"connector.class":   "io.debezium.connector.postgresql.PostgresConnector",
		"database.hostname": pc.Host, "database.port": strconv.Itoa(int(pc.Port)),
		"database.user": pc.User, "database.password": pc.Password, "database.dbname": pc.Database,
		"database.sslmode": sslmode, "topic.prefix": "bench", "table.include.list": "public." + table,
		"publication.name": table, "publication.autocreate.mode": "filtered", "slot.name": table,
		"slot.drop.on.stop": "true", "value.converter": "org.apache.kafka.connect.json.JsonConverter",
		"value.converter.schemas.enable": strconv.FormatBool(o.Converter == "json-schemas"),
	}
	if o.Compression != "" {
		cfg["producer.override.compression.type"] = o.Compression
	}
	start := time.Now()
	if _, err := h.CreateConnector(ctx, "bench-cdc", cfg, ""); err != nil {
		return CDCResult{}, fmt.Errorf("create connector: %w", err)
	}
	defer h.DeleteConnector(context.Background(), "bench-cdc")
	if err := waitTopic(ctx, w.adm, topic, int64(o.Rows), progress); err != nil {
		return CDCResult{}, fmt.Errorf("snapshot: %w", err)
	}
	r := CDCResult{Rows: o.Rows, Snapshot: time.Since(start)}

	// Updates are written while the connector is paused, so the stream
	// measurement is the connector's rate, not the database's.
	if err := h.PauseConnector(ctx, "bench-cdc"); err != nil {
		return r, fmt.Errorf("pause connector: %w", err)
	}
	if err := updateRows(ctx, conn, table, o.Rows, o.TxRows); err != nil {
		return r, err
	}
	start = time.Now()
	if err := h.ResumeConnector(ctx, "bench-cdc"); err != nil {
		return r, fmt.Errorf("resume connector: %w", err)
	}
	if err := waitTopic(ctx, w.adm, topic, int64(2*o.Rows), progress); err != nil {
		return r, fmt.Errorf("stream: %w", err)
	}
	r.Stream = time.Since(start)
	return r, nil
}

// fillTable creates the benchmark table, five typical columns, with rows
// rows.
func fillTable(ctx context.Context, conn *pgx.Conn, table string, rows int) error {
	for _, stmt := range []string{
		"CREATE TABLE " + table + " (id bigint PRIMARY KEY, name text NOT NULL, email varchar(80), balance numeric(12,2), created timestamptz)",
		fmt.Sprintf("INSERT INTO %s SELECT g, 'customer ' || g, 'c' || g || '@example.com', g * 0.01, now() FROM generate_series(1, %d) g", table, rows),
	} {
		if _, err := conn.Exec(ctx, stmt); err != nil {
			return fmt.Errorf("prepare table %s: %w", table, err)
		}
	}
	return nil
}

// updateRows changes every row once, txRows rows per transaction.
func updateRows(ctx context.Context, conn *pgx.Conn, table string, rows, txRows int) error {
	for lo := 1; lo <= rows; lo += txRows {
		_, err := conn.Exec(ctx, "UPDATE "+table+" SET balance = balance + 1 WHERE id BETWEEN $1 AND $2", lo, lo+txRows-1)
		if err != nil {
			return fmt.Errorf("update %s: %w", table, err)
		}
	}
	return nil
}

func mainCDC(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return runSummarized(ctx, "cdc", args, stdout, stderr, parseCDCFlags, CDC)
}
