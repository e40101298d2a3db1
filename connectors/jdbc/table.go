package jdbc

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
)

// tableInfo is what the database says of a table: nil when it does not
// exist.
type tableInfo struct {
	// Name is the table's name as the catalog spells it (unqualified).
	Name string
	// Columns are by lower-case name.
	Columns map[string]columnInfo
	// Key are the primary key's columns, in key order.
	Key []string
}

// columnInfo is one column of an existing table.
type columnInfo struct {
	Name string
	// Type is the column's type as the catalog renders it
	// (format_type on Postgres, COLUMN_TYPE on MySQL).
	Type     string
	Nullable bool
}

// splitTable splits a possibly qualified table name ("schema.table" on
// Postgres, "database.table" on MySQL) into its qualifier ("" when none)
// and the table.
func splitTable(table string) (qualifier, name string) {
	if i := strings.LastIndexByte(table, '.'); i >= 0 {
		return table[:i], table[i+1:]
	}
	return "", table
}

// quoteTable renders a possibly qualified table name, each part quoted
// when quote is on.
func (d dialect) quoteTable(table string, quote bool) string {
	q, name := splitTable(table)
	if q == "" {
		return d.ident(name, quote)
	}
	return d.ident(q, quote) + "." + d.ident(name, quote)
}

// readTable reads a table's columns and primary key from the catalog
// (pg_catalog on Postgres, information_schema on MySQL/MariaDB). An
// unqualified name is looked up in the current schema (Postgres) or the
// connection's database (MySQL). A name spelled exactly as in the catalog
// wins; otherwise a single case-insensitive match is taken, since an
// unquoted name was folded by the database when the table was made.
func (d dialect) readTable(ctx context.Context, db *sql.DB, table string) (*tableInfo, error) {
	qualifier, name := splitTable(table)
	if name == "" {
		return nil, fmt.Errorf("read table %q: empty table name", table)
	}
	var info *tableInfo
	var err error
	if d.isMySQL() {
		info, err = d.readMySQLTable(ctx, db, qualifier, name)
	} else {
		info, err = d.readPostgresTable(ctx, db, qualifier, name)
	}
	if err != nil {
		return nil, fmt.Errorf("read table %s: %w", table, err)
	}
	return info, nil
}

// pickName chooses among the catalog names matching name
// case-insensitively: the exact spelling, else the only one.
func pickName(name string, found []string) (string, error) {
	for _, f := range found {
		if f == name {
			return f, nil
		}
	}
	switch len(found) {
	case 0:
		return "", nil
	case 1:
		return found[0], nil
	}
	return "", fmt.Errorf("%d tables match %q apart from case (%s); quote the name or spell it exactly",
		len(found), name, strings.Join(found, ", "))
}

const pgFindTable = `SELECT c.oid, c.relname FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r','p','v','m','f') AND lower(c.relname) = lower($2)
AND (CASE WHEN $1 = '' THEN n.nspname = current_schema() ELSE lower(n.nspname) = lower($1) END)
ORDER BY (n.nspname = $1) DESC`

const pgColumns = `SELECT a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod), NOT a.attnotnull
FROM pg_catalog.pg_attribute a WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attnum`

const pgPrimaryKey = `SELECT a.attname FROM pg_catalog.pg_index i
CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
WHERE i.indrelid = $1 AND i.indisprimary ORDER BY k.ord`

func (d dialect) readPostgresTable(ctx context.Context, db *sql.DB, schema, name string) (*tableInfo, error) {
	rows, err := db.QueryContext(ctx, pgFindTable, schema, name)
	if err != nil {
		return nil, err
	}
	oids := map[string]uint32{}
	var names []string
	for rows.Next() {
		var oid uint32
		var rel string
		if err := rows.Scan(&oid, &rel); err != nil {
			rows.Close()
			return nil, err
		}
		if _, dup := oids[rel]; !dup {
			oids[rel] = oid
			names = append(names, rel)
		}
	}
	if err := closeRows(rows); err != nil {
		return nil, err
	}
	rel, err := pickName(name, names)
	if err != nil || rel == "" {
		return nil, err
	}
	info := &tableInfo{Name: rel, Columns: map[string]columnInfo{}}
	if err := scanColumns(ctx, db, info, pgColumns, oids[rel]); err != nil {
		return nil, err
	}
	info.Key, err = scanKey(ctx, db, pgPrimaryKey, oids[rel])
	return info, err
}

const mysqlFindTable = `SELECT TABLE_NAME FROM information_schema.TABLES
WHERE TABLE_SCHEMA = COALESCE(NULLIF(?, ''), DATABASE()) AND LOWER(TABLE_NAME) = LOWER(?)`

const mysqlColumns = `SELECT COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE = 'YES' FROM information_schema.COLUMNS
WHERE TABLE_SCHEMA = COALESCE(NULLIF(?, ''), DATABASE()) AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION`

const mysqlPrimaryKey = `SELECT COLUMN_NAME FROM information_schema.KEY_COLUMN_USAGE
WHERE TABLE_SCHEMA = COALESCE(NULLIF(?, ''), DATABASE()) AND TABLE_NAME = ? AND CONSTRAINT_NAME = 'PRIMARY'
ORDER BY ORDINAL_POSITION`

func (d dialect) readMySQLTable(ctx context.Context, db *sql.DB, database, name string) (*tableInfo, error) {
	rows, err := db.QueryContext(ctx, mysqlFindTable, database, name)
	if err != nil {
		return nil, err
	}
	var names []string
	for rows.Next() {
		var rel string
		if err := rows.Scan(&rel); err != nil {
			rows.Close()
			return nil, err
		}
		names = append(names, rel)
	}
	if err := closeRows(rows); err != nil {
		return nil, err
	}
	rel, err := pickName(name, names)
	if err != nil || rel == "" {
		return nil, err
	}
	info := &tableInfo{Name: rel, Columns: map[string]columnInfo{}}
	if err := scanColumns(ctx, db, info, mysqlColumns, database, rel); err != nil {
		return nil, err
	}
	info.Key, err = scanKey(ctx, db, mysqlPrimaryKey, database, rel)
	return info, err
}

func scanColumns(ctx context.Context, db *sql.DB, info *tableInfo, query string, args ...any) error {
	rows, err := db.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	for rows.Next() {
		var c columnInfo
		if err := rows.Scan(&c.Name, &c.Type, &c.Nullable); err != nil {
			rows.Close()
			return err
		}
		info.Columns[strings.ToLower(c.Name)] = c
	}
	return closeRows(rows)
}

func scanKey(ctx context.Context, db *sql.DB, query string, args ...any) ([]string, error) {
	rows, err := db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	var key []string
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			rows.Close()
			return nil, err
		}
		key = append(key, k)
	}
	return key, closeRows(rows)
}

func closeRows(rows *sql.Rows) error {
	err := rows.Err()
	if cerr := rows.Close(); err == nil {
		err = cerr
	}
	return err
}
