package jdbc

// A temporary stand-in for types.go, ddl.go, table.go and columnvalue.go, which another
// branch (h18-types) writes with these exact signatures (and columnValue, the value
// binding of its types); the merge replaces this file. It maps only the plain Connect types.

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"time"

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

// createTableSQL is CREATE TABLE with the columns and a primary key on the key columns.
func (d dialect) createTableSQL(table string, cols []column, quote bool) (string, error) {
	var defs, keys []string
	for _, c := range cols {
		typ, err := d.columnType(c)
		if err != nil {
			return "", err
		}
		def := d.sqlCol(c.Name, quote) + " " + typ
		if !c.Schema.Optional || c.Key {
			def += " NOT NULL"
		}
		defs = append(defs, def)
		if c.Key {
			keys = append(keys, d.sqlCol(c.Name, quote))
		}
	}
	if len(keys) > 0 {
		defs = append(defs, "PRIMARY KEY ("+strings.Join(keys, ", ")+")")
	}
	return "CREATE TABLE " + d.sqlTable(table, quote) + " (" + strings.Join(defs, ", ") + ")", nil
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
		out = append(out, "ALTER TABLE "+d.sqlTable(table, quote)+" ADD COLUMN "+d.sqlCol(c.Name, quote)+" "+typ)
	}
	return out, nil
}

// columnValue turns one Connect value into what the driver is given for a column
// of the type columnType chose for its schema. Temporal values are bound
// as text in UTC, which both databases parse into DATE, TIME and
// TIMESTAMP columns, so that no driver guesses a time zone.
func (d dialect) columnValue(s *connect.Schema, v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	switch s.Name {
	case connect.DecimalName:
		r, ok := v.(*big.Rat)
		if !ok {
			return nil, fmt.Errorf("a Decimal must be a *big.Rat, got %T", v)
		}
		scale, err := connect.DecimalScale(s)
		if err != nil {
			return nil, err
		}
		return connect.DecimalString(scale, r), nil
	case connect.DateName, "io.debezium.time.Date":
		if t, ok := v.(time.Time); ok {
			return t.UTC().Format(time.DateOnly), nil
		}
		if n, ok := v.(int32); ok {
			return connect.DateFromDays(n).Format(time.DateOnly), nil
		}
	case connect.TimeName:
		if t, ok := v.(time.Time); ok {
			return t.UTC().Format("15:04:05.000"), nil
		}
	case connect.TimestampName:
		if t, ok := v.(time.Time); ok {
			return t.UTC().Format("2006-01-02 15:04:05.000"), nil
		}
	case "io.debezium.time.Timestamp":
		if n, ok := v.(int64); ok {
			return time.UnixMilli(n).UTC().Format("2006-01-02 15:04:05.000"), nil
		}
	case "io.debezium.time.MicroTimestamp":
		if n, ok := v.(int64); ok {
			return time.UnixMicro(n).UTC().Format("2006-01-02 15:04:05.000000"), nil
		}
	case "io.debezium.time.NanoTimestamp":
		if n, ok := v.(int64); ok {
			return time.Unix(0, n).UTC().Format("2006-01-02 15:04:05.000000"), nil
		}
	case "io.debezium.time.Time":
		if n, ok := v.(int32); ok {
			return clock(int64(n) * 1e6), nil
		}
	case "io.debezium.time.MicroTime":
		if n, ok := v.(int64); ok {
			return clock(n * 1e3), nil
		}
	case "io.debezium.time.NanoTime":
		if n, ok := v.(int64); ok {
			return clock(n), nil
		}
	case "io.debezium.time.ZonedTimestamp":
		if str, ok := v.(string); ok && d != postgresDialect {
			t, err := time.Parse(time.RFC3339Nano, str)
			if err != nil {
				return nil, fmt.Errorf("ZonedTimestamp %q: %w", str, err)
			}
			return t.UTC().Format("2006-01-02 15:04:05.000000"), nil
		}
	case "io.debezium.time.MicroDuration":
		if n, ok := v.(int64); ok {
			if d == postgresDialect {
				return strconv.FormatInt(n, 10) + " microseconds", nil
			}
			return clock(n * 1e3), nil
		}
	case "io.debezium.data.VariableScaleDecimal":
		if st, ok := v.(*connect.Struct); ok {
			scale, _ := st.Get("scale")
			raw, _ := st.Get("value")
			sc, ok1 := scale.(int32)
			b, ok2 := raw.([]byte)
			if !ok1 || !ok2 {
				return nil, fmt.Errorf("VariableScaleDecimal needs scale (int32) and value (bytes)")
			}
			return connect.DecimalString(int(sc), connect.DecimalFromBytes(int(sc), b)), nil
		}
	}
	switch x := v.(type) {
	case int8, int16, int32, int64, float32, float64, string, []byte:
		return x, nil
	case bool:
		if d != postgresDialect {
			if x {
				return int64(1), nil
			}
			return int64(0), nil
		}
		return x, nil
	case time.Time:
		return x.UTC().Format("2006-01-02 15:04:05.000000"), nil
	case map[string]any, map[any]any, []any:
		return toJSON(s, x)
	case *connect.Struct:
		return toJSON(s, x)
	}
	return nil, fmt.Errorf("cannot bind a %T for a %s column", v, s.Type)
}

// clock formats nanoseconds since midnight as HH:MM:SS.ffffff.
func clock(ns int64) string {
	return time.Unix(0, ns).UTC().Format("15:04:05.000000")
}

// toJSON renders a MAP, ARRAY or STRUCT as JSON text.
func toJSON(s *connect.Schema, v any) (any, error) {
	plain, err := plainValue(v)
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(plain)
	if err != nil {
		return nil, fmt.Errorf("render a %s as JSON: %w", s.Type, err)
	}
	return string(b), nil
}

func plainValue(v any) (any, error) {
	switch x := v.(type) {
	case *connect.Struct:
		out := map[string]any{}
		for _, f := range x.Schema().Fields {
			p, err := plainValue(x.GetField(&f))
			if err != nil {
				return nil, err
			}
			out[f.Name] = p
		}
		return out, nil
	case map[any]any:
		out := map[string]any{}
		for k, e := range x {
			p, err := plainValue(e)
			if err != nil {
				return nil, err
			}
			out[fmt.Sprint(k)] = p
		}
		return out, nil
	case map[string]any:
		out := map[string]any{}
		for k, e := range x {
			p, err := plainValue(e)
			if err != nil {
				return nil, err
			}
			out[k] = p
		}
		return out, nil
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			p, err := plainValue(e)
			if err != nil {
				return nil, err
			}
			out[i] = p
		}
		return out, nil
	case *big.Rat:
		return json.Number(x.FloatString(10)), nil
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano), nil
	}
	return v, nil
}
