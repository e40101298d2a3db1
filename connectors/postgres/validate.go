package postgres

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/sluicehq/sluice/runtime/connect"
)

// validateTimeout bounds the whole server check, connecting included.
const validateTimeout = 15 * time.Second

// Validate implements connect.ConnectorValidator: it adds the rules between
// keys, then, when the connection keys are valid, connects and checks what
// streaming needs (as Debezium's validateConnection does): the server is
// reachable and accepts the credentials, wal_level is logical, the user may
// replicate, every table.include.list entry matches a table, and the
// replication slot is free for this connector (see slotProblems).
func (*connector) Validate(ctx context.Context, config map[string]string, results []connect.ConfigValue) []connect.ConfigValue {
	// A key the definition does not declare (one of a family named by a
	// pattern) gets a result of its own, as Kafka's validate answers it.
	report := func(key, msg string) { results = connect.AddError(results, key, msg) }
	for key, msgs := range crossKeyErrors(config) {
		for _, m := range msgs {
			report(key, m)
		}
	}
	for _, key := range []string{HostnameConfig, PortConfig, UserConfig, PasswordConfig, DBNameConfig, SSLModeConfig, TableIncludeListConfig} {
		i := slices.IndexFunc(results, func(cv connect.ConfigValue) bool { return cv.Name == key })
		if i < 0 || len(results[i].Errors) > 0 {
			return results
		}
	}
	ctx, cancel := context.WithTimeout(ctx, validateTimeout)
	defer cancel()
	checkServer(ctx, config, report)
	return results
}

// checkServer connects as the configured user and reports each problem on
// the key that can fix it.
func checkServer(ctx context.Context, config map[string]string, report func(key, msg string)) {
	conn, err := pgx.Connect(ctx, connString(config))
	if err != nil {
		key, msg := connectError(config, err)
		report(key, "Error while validating connector config: "+msg)
		return
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var walLevel string
	if err := conn.QueryRow(ctx, "SHOW wal_level").Scan(&walLevel); err != nil {
		report(HostnameConfig, "Error while validating connector config: "+pgMessage(err))
		return
	}
	if walLevel != "logical" {
		report(HostnameConfig, `Postgres server wal_level property must be "logical" but is: `+walLevel)
	}
	if msg, err := checkRoles(ctx, conn); err != nil {
		report(UserConfig, "Error while validating connector config: "+pgMessage(err))
	} else if msg != "" {
		report(UserConfig, msg)
	}
	if strings.TrimSpace(config[SnapshotModeConfig]) != "initial_only" {
		if st, err := readSlot(ctx, conn, slotNameOf(config)); err != nil {
			report(SlotNameConfig, "Error while validating connector config: "+pgMessage(err))
		} else {
			for _, m := range slotProblems(st, config) {
				report(SlotNameConfig, m)
			}
		}
	}
	if msgs, err := checkIncludedTables(ctx, conn, config); err != nil {
		report(TableIncludeListConfig, "Error while validating connector config: "+pgMessage(err))
	} else {
		for _, m := range msgs {
			report(TableIncludeListConfig, m)
		}
	}
}

// connString renders the connection keys as a libpq keyword/value string.
func connString(config map[string]string) string {
	port := strings.TrimSpace(config[PortConfig])
	if port == "" {
		port = "5432"
	}
	sslMode := strings.TrimSpace(config[SSLModeConfig])
	if sslMode == "" {
		sslMode = "prefer"
	}
	kv := [][2]string{
		{"host", strings.TrimSpace(config[HostnameConfig])},
		{"port", port},
		{"user", strings.TrimSpace(config[UserConfig])},
		{"password", config[PasswordConfig]},
		{"dbname", strings.TrimSpace(config[DBNameConfig])},
		{"sslmode", sslMode},
		{"connect_timeout", "10"},
		{"application_name", applicationName(config)},
	}
	kv = append(kv, tlsParams(config)...)
	var b strings.Builder
	for _, p := range kv {
		v := strings.ReplaceAll(strings.ReplaceAll(p[1], `\`, `\\`), `'`, `\'`)
		fmt.Fprintf(&b, "%s='%s' ", p[0], v)
	}
	return b.String()
}

// connectError picks the key a connection failure is about and a message
// in the words of Postgres's JDBC driver, which Debezium users know.
func connectError(config map[string]string, err error) (key, msg string) {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "28P01": // invalid_password
			return PasswordConfig, pgMessage(pgErr)
		case "28000": // invalid_authorization_specification: unknown role, no pg_hba entry
			return UserConfig, pgMessage(pgErr)
		case "3D000": // invalid_catalog_name: no such database
			return DBNameConfig, pgMessage(pgErr)
		}
		return HostnameConfig, pgMessage(pgErr)
	}
	addr := net.JoinHostPort(strings.TrimSpace(config[HostnameConfig]), strings.TrimSpace(config[PortConfig]))
	var dnsErr *net.DNSError
	var unknownCA x509.UnknownAuthorityError
	var wrongHost x509.HostnameError
	var certErr *tls.CertificateVerificationError
	switch {
	case errors.As(err, &unknownCA), errors.As(err, &wrongHost), errors.As(err, &certErr):
		return SSLRootCertConfig, fmt.Sprintf("The server's certificate could not be verified (%s=%s): %v", SSLModeConfig, config[SSLModeConfig], err)
	case strings.Contains(err.Error(), "refused TLS"), strings.Contains(err.Error(), "server does not support SSL"):
		return SSLModeConfig, fmt.Sprintf("The server at %s does not support SSL, which %s=%s requires.", addr, SSLModeConfig, config[SSLModeConfig])
	case errors.Is(err, syscall.ECONNREFUSED):
		return HostnameConfig, fmt.Sprintf("Connection to %s refused. Check that the hostname and port are correct and that the postmaster is accepting TCP/IP connections.", addr)
	case errors.As(err, &dnsErr):
		return HostnameConfig, fmt.Sprintf("The connection attempt failed: unknown host %s", dnsErr.Name)
	case errors.Is(err, context.DeadlineExceeded):
		return HostnameConfig, fmt.Sprintf("The connection attempt to %s timed out.", addr)
	}
	return HostnameConfig, fmt.Sprintf("The connection attempt to %s failed: %v", addr, err)
}

// pgMessage renders a server error as the JDBC driver does
// ("FATAL: password authentication failed for user "bob""), other errors
// as they are.
func pgMessage(err error) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Severity + ": " + pgErr.Message
	}
	return err.Error()
}

// checkRoles returns Debezium's message when the user may not log in and
// replicate. Superusers and members of the AWS RDS replication roles may.
func checkRoles(ctx context.Context, conn *pgx.Conn) (string, error) {
	const q = `SELECT r.rolname, r.rolcanlogin AND (r.rolreplication OR r.rolsuper OR EXISTS (
		SELECT 1 FROM pg_catalog.pg_auth_members m JOIN pg_catalog.pg_roles b ON m.roleid = b.oid
		WHERE m.member = r.oid AND b.rolname IN ('rds_superuser', 'rdsadmin', 'rdsrepladmin', 'rds_replication')))
		FROM pg_catalog.pg_roles r WHERE r.rolname = current_user`
	var user string
	var ok bool
	if err := conn.QueryRow(ctx, q).Scan(&user, &ok); err != nil {
		return "", fmt.Errorf("read roles of the current user: %w", err)
	}
	if ok {
		return "", nil
	}
	return "Postgres roles LOGIN and REPLICATION are not assigned to user: " + user, nil
}

// checkIncludedTables returns a message for every table.include.list entry
// that matches no table of the database. Entries are regular expressions
// matched, as Debezium does, against the whole schema.table name ignoring
// case.
func checkIncludedTables(ctx context.Context, conn *pgx.Conn, config map[string]string) ([]string, error) {
	patterns, _ := connect.ParseConfigValue(connect.ConfigList, config[TableIncludeListConfig])
	entries, _ := patterns.([]string)
	if len(entries) == 0 {
		return nil, nil
	}
	rows, err := conn.Query(ctx, `SELECT n.nspname || '.' || c.relname FROM pg_catalog.pg_class c
		JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
		WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
		AND n.nspname NOT LIKE 'pg\_toast%'`)
	if err != nil {
		return nil, fmt.Errorf("list tables: %w", err)
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("list tables: %w", err)
	}
	var msgs []string
	for _, entry := range entries {
		re, err := regexp.Compile(`(?i)^(?:` + entry + `)$`)
		if err != nil {
			continue // reported by the key's validator
		}
		if !anyMatch(re, tables) {
			msgs = append(msgs, fmt.Sprintf("No table in database %s matches %q from table.include.list", strings.TrimSpace(config[DBNameConfig]), entry))
		}
	}
	return msgs, nil
}

func anyMatch(re *regexp.Regexp, names []string) bool {
	for _, n := range names {
		if re.MatchString(n) {
			return true
		}
	}
	return false
}
