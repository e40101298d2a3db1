package jdbc

import (
	"context"
	"errors"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/sluicehq/sluice/connectors/kit"
	"github.com/sluicehq/sluice/runtime/connect"
)

// The connector's class and the classes it stands in for.
const (
	// Class is Sluice's own class; it takes Debezium's keys.
	Class = "io.sluice.connect.jdbc.JdbcSinkConnector"
	// DebeziumClass is Debezium's JDBC sink: its keys, and the change
	// event envelope read natively.
	DebeziumClass = "io.debezium.connector.jdbc.JdbcSinkConnector"
	// ConfluentClass is Confluent's JDBC sink; named in connector.class,
	// it selects Confluent's keys and defaults, and flat records.
	ConfluentClass = "io.confluent.connect.jdbc.JdbcSinkConnector"
)

// Plugin is the JDBC sink connector plugin.
var Plugin = connect.ConnectorPlugin{
	Class:   Class,
	Aliases: []string{DebeziumClass, ConfluentClass},
	Version: connect.BuiltinVersion,
	Config:  Config,
	Doc: "Writes records into Postgres, MySQL or MariaDB tables (the dialect from the JDBC URL), with Debezium's keys and " +
		"its change event envelope read natively (under its own class and Debezium's) or Confluent's keys and flat records " +
		"(under Confluent's class): insert, upsert or update, deletes from tombstones and op=d events, tables created and " +
		"evolved from the record schema; each flush is one transaction, and offsets are committed only once it committed.",
	NewConnector: func() connect.Connector {
		return &connector{kit.SinkConnector{Check: func(config map[string]string) error {
			_, err := resolve(config)
			return err
		}}}
	},
	NewSinkTask: func() connect.SinkTask { return newSinkTask() },
}

// connector checks the config and runs tasks.max identical tasks; the
// task configs carry connector.class, which picks the front-end.
type connector struct{ kit.SinkConnector }

// Validate implements connect.ConnectorValidator: it adds the cross-key
// and front-end problems to the per-key results, each on its key, then
// connects (bounded) to report an unreachable database on connection.url
// and refused credentials on the user and password keys.
func (c *connector) Validate(ctx context.Context, config map[string]string, results []connect.ConfigValue) []connect.ConfigValue {
	s, err := resolve(config)
	if err != nil {
		results = kit.AddConfigErrors(results, err)
		return results
	}
	db, err := open(ctx, s)
	if err != nil {
		if isAuthError(err) {
			user := dbzUser.Name()
			if s.front == confluent {
				user = cflUser.Name()
			}
			results = connect.AddError(results, user, "the database refused the credentials: "+err.Error())
			return connect.AddError(results, connPassword.Name(), "the database refused the credentials: "+err.Error())
		}
		return connect.AddError(results, connURL.Name(), err.Error())
	}
	_ = db.Close()
	return results
}

// isAuthError reports whether err is the database refusing the user or
// password.
func isAuthError(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "28P01" || pe.Code == "28000"
	}
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		return me.Number == 1045 || me.Number == 1044 || me.Number == 1698
	}
	return false
}
