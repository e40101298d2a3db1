package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/sluicehq/sluice/connectors/debezium"
)

// sanitized quotes a table's schema and name for SQL.
func sanitized(r debezium.TableID) string { return pgx.Identifier{r.Schema, r.Name}.Sanitize() }

// capturedColumns keeps a described table's captured columns.
func capturedColumns(f debezium.Filter, table Table) Table {
	ref := debezium.TableID{Schema: table.Schema, Name: table.Name}
	cols := table.Columns[:0:0]
	for _, c := range table.Columns {
		if f.CapturesColumn(ref, c.Name) {
			cols = append(cols, c)
		}
	}
	table.Columns, table.KeyColumns = cols, f.KeyColumns(ref, table.KeyColumns)
	return table
}

// mappedColumns leaves out of a table the columns whose type has no
// mapping (see mapped), and drops them from its key.
func mappedColumns(table Table, opts TypeOptions, log *slog.Logger) Table {
	ref := debezium.TableID{Schema: table.Schema, Name: table.Name}
	cols := table.Columns[:0:0]
	var dropped []string
	for _, c := range table.Columns {
		if mapped(ref, c, opts, log) {
			cols = append(cols, c)
		} else {
			dropped = append(dropped, c.Name)
		}
	}
	table.Columns, table.KeyColumns = cols, without(table.KeyColumns, dropped)
	return table
}

// mapped reports whether column c of table ref has a schema under opts.
// A column without one (a type with no mapping, include.unknown.datatypes
// off) is left out of change events with a warning, as Debezium leaves
// it out, instead of failing the table.
func mapped(ref debezium.TableID, c Column, opts TypeOptions, log *slog.Logger) bool {
	_, err := ColumnSchema(c, opts)
	if !errors.Is(err, ErrUnsupportedType) {
		return true
	}
	msg := "column of a type without mapping left out of change events; include.unknown.datatypes=true includes it as bytes"
	if opts.IncludeUnknown {
		msg = "column of a type Debezium never maps left out of change events"
	}
	orDiscard(log).Warn(msg, "table", ref.String(), "column", c.Name, "type", c.TypeName, "oid", c.TypeOID)
	return false
}

// without returns names less those in drop, in order.
func without(names, drop []string) []string {
	if len(drop) == 0 {
		return names
	}
	var out []string
	for _, n := range names {
		if !slices.Contains(drop, n) {
			out = append(out, n)
		}
	}
	return out
}

// capturedTables lists the captured tables, ordered by schema and name.
// Partitioned tables are captured as the publication reports their
// changes: with viaRoot (publish_via_partition_root) as their root table,
// whose rows are those of every partition, and not as the partitions;
// without it as their leaf partitions, each a table of its own, and not
// as the root, which holds no rows of its own.
func capturedTables(ctx context.Context, conn *pgx.Conn, f debezium.Filter, viaRoot bool) ([]debezium.TableID, error) {
	rows, err := conn.Query(ctx, `SELECT n.nspname, c.relname FROM pg_catalog.pg_class c
		JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
		WHERE c.relkind IN ('r', 'p') AND CASE WHEN $1 THEN NOT c.relispartition ELSE c.relkind = 'r' END
		AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\_toast%'
		ORDER BY 1, 2`, viaRoot)
	if err != nil {
		return nil, fmt.Errorf("list tables: %w", err)
	}
	all, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (debezium.TableID, error) {
		var t debezium.TableID
		return t, r.Scan(&t.Schema, &t.Name)
	})
	if err != nil {
		return nil, fmt.Errorf("list tables: %w", err)
	}
	var out []debezium.TableID
	for _, t := range all {
		if f.Captures(t) {
			out = append(out, t)
		}
	}
	return out, nil
}

// describeTable reads a table's columns (types, typmods, nullability and
// enum labels) and primary key from the catalog.
func describeTable(ctx context.Context, conn *pgx.Conn, t debezium.TableID) (Table, error) {
	rows, err := conn.Query(ctx, `
		SELECT a.attname, a.atttypid, t.typname, a.atttypmod, NOT a.attnotnull,
			COALESCE((SELECT array_agg(e.enumlabel ORDER BY e.enumsortorder) FROM pg_enum e
				WHERE e.enumtypid = CASE WHEN t.typelem <> 0 THEN t.typelem ELSE t.oid END), '{}')
		FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
		WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''
		ORDER BY a.attnum`, sanitized(t))
	if err != nil {
		return Table{}, fmt.Errorf("read columns of %s: %w", t, err)
	}
	cols, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Column, error) {
		var c Column
		return c, r.Scan(&c.Name, &c.TypeOID, &c.TypeName, &c.TypeMod, &c.Nullable, &c.EnumValues)
	})
	if err != nil {
		return Table{}, fmt.Errorf("read columns of %s: %w", t, err)
	}
	rows, err = conn.Query(ctx, `SELECT a.attname FROM pg_index i
		JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
		WHERE i.indrelid = $1::regclass AND i.indisprimary ORDER BY array_position(i.indkey, a.attnum)`, sanitized(t))
	if err != nil {
		return Table{}, fmt.Errorf("read primary key of %s: %w", t, err)
	}
	pk, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return Table{}, fmt.Errorf("read primary key of %s: %w", t, err)
	}
	return Table{Schema: t.Schema, Name: t.Name, Columns: cols, KeyColumns: pk}, nil
}
