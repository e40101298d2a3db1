package jdbc

import (
	"strconv"
	"strings"
)

// maxParams bounds the placeholders of one statement: Postgres and MySQL
// both refuse more than 65535.
const maxParams = 65535

// sqlTable is a table name as DML writes it: each dot-separated part
// quoted when quote holds (schema.table, or database.table for MySQL).
func (d dialect) sqlTable(table string, quote bool) string {
	if !quote {
		return table
	}
	parts := strings.Split(table, ".")
	for i, p := range parts {
		parts[i] = d.quoteIdent(p)
	}
	return strings.Join(parts, ".")
}

// sqlCol is a column name as DML writes it.
func (d dialect) sqlCol(name string, quote bool) string {
	if quote {
		return d.quoteIdent(name)
	}
	return name
}

// placeholder returns the n-th (1-based) parameter marker.
func (d dialect) placeholder(n int) string {
	if d == postgresDialect {
		return "$" + strconv.Itoa(n)
	}
	return "?"
}

// rowsPerStatement is how many rows of ncols columns fit one statement.
func rowsPerStatement(ncols int) int {
	if ncols == 0 {
		return 1
	}
	return max(1, maxParams/ncols)
}

// valuesList writes rows tuples of ncols markers: ($1,$2),($3,$4).
func (d dialect) valuesList(b *strings.Builder, rows, ncols int) {
	n := 0
	for r := range rows {
		if r > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('(')
		for c := range ncols {
			if c > 0 {
				b.WriteString(", ")
			}
			n++
			b.WriteString(d.placeholder(n))
		}
		b.WriteByte(')')
	}
}

// insertSQL is a multi-row INSERT of rows rows, an upsert when upsert
// holds: Postgres ON CONFLICT (keys) DO UPDATE SET v=EXCLUDED.v (DO
// NOTHING without non-key columns), MySQL/MariaDB ON DUPLICATE KEY UPDATE
// v=VALUES(v), MySQL ≥ 8.0.20 VALUES … AS new ON DUPLICATE KEY UPDATE
// v=new.v (the keys set to themselves without non-key columns), as
// Debezium's and Confluent's dialects emit.
func (d dialect) insertSQL(table string, cols []column, rows int, upsert, quote bool) string {
	var b strings.Builder
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = d.sqlCol(c.Name, quote)
	}
	b.WriteString("INSERT INTO ")
	b.WriteString(d.sqlTable(table, quote))
	b.WriteString(" (")
	b.WriteString(strings.Join(names, ", "))
	b.WriteString(") VALUES ")
	d.valuesList(&b, rows, len(cols))
	if !upsert {
		return b.String()
	}
	var keys, sets []string
	for i, c := range cols {
		if c.Key {
			keys = append(keys, names[i])
		} else {
			sets = append(sets, names[i]+" = "+d.newValue(names[i]))
		}
	}
	if d == postgresDialect {
		b.WriteString(" ON CONFLICT (" + strings.Join(keys, ", ") + ")")
		if len(sets) == 0 {
			b.WriteString(" DO NOTHING")
		} else {
			b.WriteString(" DO UPDATE SET " + strings.Join(sets, ", "))
		}
		return b.String()
	}
	if len(sets) == 0 {
		for _, k := range keys {
			sets = append(sets, k+" = "+d.newValue(k))
		}
	}
	if d == mysqlAliasDialect {
		b.WriteString(" AS new")
	}
	b.WriteString(" ON DUPLICATE KEY UPDATE " + strings.Join(sets, ", "))
	return b.String()
}

// newValue is how an upsert names the value a column would have got:
// EXCLUDED.c (Postgres), new.c (MySQL ≥ 8.0.20, after VALUES … AS new, as
// Debezium's MySqlDatabaseDialect writes it) or VALUES(c).
func (d dialect) newValue(col string) string {
	switch d {
	case postgresDialect:
		return "EXCLUDED." + col
	case mysqlAliasDialect:
		return "new." + col
	}
	return "VALUES(" + col + ")"
}

// updateSQL is UPDATE t SET v=…, … WHERE k=… AND …, the non-key columns'
// markers first; "" when there is nothing but keys to set.
func (d dialect) updateSQL(table string, cols []column, quote bool) string {
	var sets, where []string
	n := 0
	for _, c := range cols {
		if !c.Key {
			n++
			sets = append(sets, d.sqlCol(c.Name, quote)+" = "+d.placeholder(n))
		}
	}
	if len(sets) == 0 {
		return ""
	}
	for _, c := range cols {
		if c.Key {
			n++
			where = append(where, d.sqlCol(c.Name, quote)+" = "+d.placeholder(n))
		}
	}
	return "UPDATE " + d.sqlTable(table, quote) + " SET " + strings.Join(sets, ", ") + " WHERE " + strings.Join(where, " AND ")
}

// updateArgs orders one row's values as updateSQL's markers: non-key
// columns, then keys.
func updateArgs(o *op) []any {
	args := make([]any, 0, len(o.vals))
	args = append(args, o.vals[o.nkeys:]...)
	return append(args, o.vals[:o.nkeys]...)
}

// deleteSQL deletes rows rows by key: k IN (…) or (k1, k2) IN ((…), …).
func (d dialect) deleteSQL(table string, keys []column, rows int, quote bool) string {
	var b strings.Builder
	b.WriteString("DELETE FROM ")
	b.WriteString(d.sqlTable(table, quote))
	b.WriteString(" WHERE ")
	if len(keys) == 1 {
		b.WriteString(d.sqlCol(keys[0].Name, quote) + " IN (")
		for r := range rows {
			if r > 0 {
				b.WriteString(", ")
			}
			b.WriteString(d.placeholder(r + 1))
		}
		b.WriteByte(')')
		return b.String()
	}
	names := make([]string, len(keys))
	for i, k := range keys {
		names[i] = d.sqlCol(k.Name, quote)
	}
	b.WriteString("(" + strings.Join(names, ", ") + ") IN (")
	d.valuesList(&b, rows, len(keys))
	b.WriteByte(')')
	return b.String()
}

// truncateSQL empties a table.
func (d dialect) truncateSQL(table string, quote bool) string {
	return "TRUNCATE TABLE " + d.sqlTable(table, quote)
}
