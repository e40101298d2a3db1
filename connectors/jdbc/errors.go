package jdbc

import (
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"strings"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/sluicehq/sluice/connectors/kit"
)

// errTable is a table the sink may not create or evolve (DDL is off) or
// whose DDL failed: the task fails, as both sinks' do.
var errTable = errors.New("JDBC sink table")

// isTransient reports whether a write that failed with err may succeed on
// a new connection or a later try: a lost or refused connection, the
// server shutting down or killing the session, a serialization failure or
// deadlock.
func isTransient(err error) bool {
	if err == nil {
		return false
	}
	if kit.IsRetriable(err) || errors.Is(err, driver.ErrBadConn) || errors.Is(err, sql.ErrConnDone) ||
		errors.Is(err, mysql.ErrInvalidConn) {
		return true
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return strings.HasPrefix(pe.Code, "08") || pe.Code == "57P01" || pe.Code == "57P02" ||
			pe.Code == "57P03" || pe.Code == "40001" || pe.Code == "40P01" || pe.Code == "53300"
	}
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		switch me.Number {
		case 1205, 1213, 1040, 1927, 2006, 2013:
			return true
		}
		return false
	}
	if pgconn.SafeToRetry(err) || pgconn.Timeout(err) {
		return true
	}
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) {
		return true
	}
	msg := err.Error()
	return strings.Contains(msg, "conn closed") || strings.Contains(msg, "connection reset") ||
		strings.Contains(msg, "broken pipe") || strings.Contains(msg, "unexpected EOF")
}

// isRowError reports whether err is the fault of a row's values (a
// constraint violation, a value the column cannot hold), so that writing
// the batch row by row finds the record to report.
func isRowError(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return strings.HasPrefix(pe.Code, "22") || strings.HasPrefix(pe.Code, "23")
	}
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		switch me.Number {
		case 1048, 1062, 1264, 1265, 1292, 1364, 1366, 1406, 1451, 1452, 1690, 3819, 4025:
			return true
		}
	}
	return false
}

// describe names the table, and the column when the database says which,
// of a row's SQL error.
func describe(err error, table string) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		s := fmt.Sprintf("table %s", table)
		if pe.ColumnName != "" {
			s += ", column " + pe.ColumnName
		}
		if pe.ConstraintName != "" {
			s += ", constraint " + pe.ConstraintName
		}
		s += ": " + pe.Message + " (SQLSTATE " + pe.Code + ")"
		if pe.Detail != "" {
			s += ": " + pe.Detail
		}
		return s
	}
	return fmt.Sprintf("table %s: %v", table, err)
}
