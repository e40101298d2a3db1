package jdbc

// A temporary stand-in for types.go, ddl.go and table.go, which another
// branch (h18-types) writes with these exact signatures; the merge
// replaces this file. It maps only the plain Connect types.

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/sluicehq/sluice/runtime/connect"
)

// dialect names the SQL dialect chosen from the JDBC URL.
type dialect int

const (
	postgresDialect dialect = iota + 1
	mysqlDialect            // MySQL
	mariadbDialect          // MariaDB (MySQL syntax, MariaDB's upsert)
)

// quoteIdent quotes one identifier as the dialect does.
func (d dialect) quoteIdent(name string) string {
	if d == postgresDialect {
		return `"` + strings.ReplaceAll(name, `"`, `""`) + `"`
	}
	return "`" + strings.ReplaceAll(name, "`", "``") + "`"
}

// column is one column as the sink wants it.
type column struct {
	Name   string
	Schema *connect.Schema
	Key    bool
}

// columnType returns the SQL type of a Connect schema.
func (d dialect) columnType(c column) (string, error) {
	s := c.Schema
	pg := d == postgresDialect
	switch s.Name {
	case connect.DecimalName:
		return "DECIMAL(65," + s.Parameters[connect.DecimalScaleParam] + ")", nil
	case connect.DateName:
		return "DATE", nil
	case connect.TimeName:
		return "TIME(3)", nil
	case connect.TimestampName:
		if pg {
			return "TIMESTAMP(3)", nil
		}
		return "DATETIME(3)", nil
	}
	switch s.Type {
	case connect.TypeInt8:
		if pg {
			return "SMALLINT", nil
		}
		return "TINYINT", nil
	case connect.TypeInt16:
		return "SMALLINT", nil
	case connect.TypeInt32:
		return "INT", nil
	case connect.TypeInt64:
		return "BIGINT", nil
	case connect.TypeFloat32:
		return "REAL", nil
	case connect.TypeFloat64:
		return "DOUBLE PRECISION", nil
	case connect.TypeBoolean:
		return "BOOLEAN", nil
	case connect.TypeString:
		if pg {
			return "TEXT", nil
		}
		if c.Key {
			return "VARCHAR(255)", nil
		}
		return "LONGTEXT", nil
	case connect.TypeBytes:
		if pg {
			return "BYTEA", nil
		}
		return "LONGBLOB", nil
	}
	return "", fmt.Errorf("column %s: no SQL type for %s", c.Name, s.Type)
}

// tableInfo is what the database says of a table: nil when it does not exist.
type tableInfo struct {
	Name    string
	Columns map[string]columnInfo // by lower-case name
	Key     []string
}

// columnInfo is one column of a table.
type columnInfo struct {
	Name, Type string
	Nullable   bool
}

// readTable reads a table's columns from information_schema.
func (d dialect) readTable(ctx context.Context, db *sql.DB, table string) (*tableInfo, error) {
	schemaExpr, name := "current_schema()", table
	if d != postgresDialect {
		schemaExpr = "database()"
	}
	var args []any
	if i := strings.LastIndexByte(table, '.'); i >= 0 && d == postgresDialect {
		schemaExpr, name = "$1", table[i+1:]
		args = append(args, table[:i])
	}
	ph := "$2"
	if len(args) == 0 {
		ph = "$1"
	}
	if d != postgresDialect {
		ph = "?"
	}
	rows, err := db.QueryContext(ctx, "SELECT column_name, data_type, is_nullable FROM information_schema.columns WHERE table_schema = "+
		schemaExpr+" AND table_name = "+ph, append(args, name)...)
	if err != nil {
		return nil, fmt.Errorf("read table %s: %w", table, err)
	}
	defer rows.Close()
	info := &tableInfo{Name: table, Columns: map[string]columnInfo{}}
	for rows.Next() {
		var c columnInfo
		var nullable string
		if err := rows.Scan(&c.Name, &c.Type, &nullable); err != nil {
			return nil, fmt.Errorf("read table %s: %w", table, err)
		}
		c.Nullable = nullable == "YES"
		info.Columns[strings.ToLower(c.Name)] = c
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read table %s: %w", table, err)
	}
	if len(info.Columns) == 0 {
		return nil, nil
	}
	return info, nil
}

func (d dialect) tableRef(table string, quote bool) string {
	if !quote {
		return table
	}
	if d != postgresDialect {
		return d.quoteIdent(table)
	}
	parts := strings.Split(table, ".")
	for i, p := range parts {
		parts[i] = d.quoteIdent(p)
	}
	return strings.Join(parts, ".")
}

func (d dialect) colRef(name string, quote bool) string {
	if quote {
		return d.quoteIdent(name)
	}
	return name
}

// createTableSQL is CREATE TABLE with the columns and a primary key on the key columns.
func (d dialect) createTableSQL(table string, cols []column, quote bool) (string, error) {
	var defs, keys []string
	for _, c := range cols {
		typ, err := d.columnType(c)
		if err != nil {
			return "", err
		}
		def := d.colRef(c.Name, quote) + " " + typ
		if !c.Schema.Optional || c.Key {
			def += " NOT NULL"
		}
		defs = append(defs, def)
		if c.Key {
			keys = append(keys, d.colRef(c.Name, quote))
		}
	}
	if len(keys) > 0 {
		defs = append(defs, "PRIMARY KEY ("+strings.Join(keys, ", ")+")")
	}
	return "CREATE TABLE " + d.tableRef(table, quote) + " (" + strings.Join(defs, ", ") + ")", nil
}

// addColumnsSQL are the ALTER TABLE … ADD COLUMN statements for the columns missing from info.
func (d dialect) addColumnsSQL(info *tableInfo, table string, cols []column, quote bool) ([]string, error) {
	var out []string
	for _, c := range cols {
		if _, ok := info.Columns[strings.ToLower(c.Name)]; ok {
			continue
		}
		typ, err := d.columnType(c)
		if err != nil {
			return nil, err
		}
		out = append(out, "ALTER TABLE "+d.tableRef(table, quote)+" ADD COLUMN "+d.colRef(c.Name, quote)+" "+typ)
	}
	return out, nil
}
