package jdbc

import (
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
)

// target is a parsed JDBC URL: the dialect, the database/sql driver and
// its DSN.
type target struct {
	dialect dialect
	driver  string // "pgx" or "mysql"
	dsn     string
	host    string // host:port, for messages
}

// parseURL turns a JDBC URL into a DSN for pgx or go-sql-driver/mysql,
// with user and password from the keys (they win over the URL's own
// user/password parameters). The URL parameters that matter are mapped;
// any other is refused, so that no setting is silently ignored:
//
//   - Postgres: sslmode, sslrootcert, sslcert, sslkey (as libpq),
//     connectTimeout (seconds), ApplicationName, currentSchema (the
//     search_path), user, password.
//   - MySQL/MariaDB: user, password, connectTimeout (ms), socketTimeout
//     (ms, read and write timeout), sslMode/useSSL (DISABLED or false: no
//     TLS; PREFERRED: TLS if offered; REQUIRED: TLS without verification;
//     VERIFY_CA/VERIFY_IDENTITY or true: verified TLS), serverTimezone and
//     connectionTimeZone (UTC only), characterEncoding (utf8/UTF-8 only),
//     rewriteBatchedStatements (accepted: Sluice always sends multi-row
//     statements).
func parseURL(raw, user, password string) (*target, error) {
	rest, ok := strings.CutPrefix(strings.TrimSpace(raw), "jdbc:")
	if !ok {
		return nil, fmt.Errorf("%q is not a JDBC URL: it must start with jdbc:postgresql://, jdbc:mysql:// or jdbc:mariadb://", raw)
	}
	scheme, rest, ok := strings.Cut(rest, "://")
	if !ok {
		return nil, fmt.Errorf("%q: expected jdbc:<subprotocol>://host[:port]/database", raw)
	}
	var d dialect
	switch scheme {
	case "postgresql":
		d = postgresDialect
	case "mysql":
		d = mysqlDialect
	case "mariadb":
		d = mariadbDialect
	default:
		return nil, fmt.Errorf("%q: unsupported JDBC subprotocol %q: Sluice's JDBC sink writes to postgresql, mysql and mariadb", raw, scheme)
	}
	u, err := url.Parse("x://" + rest)
	if err != nil {
		return nil, fmt.Errorf("%q: %w", raw, err)
	}
	if u.Host == "" || strings.Contains(u.Host, ",") {
		return nil, fmt.Errorf("%q: expected exactly one host (failover lists are not supported)", raw)
	}
	db := strings.TrimPrefix(u.Path, "/")
	if db == "" || strings.Contains(db, "/") {
		return nil, fmt.Errorf("%q: expected a database name after the host", raw)
	}
	q := u.Query()
	if user == "" {
		user = q.Get("user")
	}
	if password == "" {
		password = q.Get("password")
	}
	q.Del("user")
	q.Del("password")
	if d == postgresDialect {
		return pgTarget(raw, u.Host, db, user, password, q)
	}
	return mysqlTarget(raw, d, u.Host, db, user, password, q)
}

func pgTarget(raw, host, db, user, password string, q url.Values) (*target, error) {
	if _, _, err := net.SplitHostPort(host); err != nil {
		host = net.JoinHostPort(host, "5432")
	}
	out := url.Values{}
	for k, vs := range q {
		v := vs[len(vs)-1]
		switch k {
		case "sslmode", "sslrootcert", "sslcert", "sslkey":
			out.Set(k, v)
		case "connectTimeout":
			out.Set("connect_timeout", v)
		case "ApplicationName":
			out.Set("application_name", v)
		case "currentSchema":
			out.Set("search_path", v)
		default:
			return nil, fmt.Errorf("%q: URL parameter %s is not supported by Sluice's JDBC sink", raw, k)
		}
	}
	if out.Get("connect_timeout") == "" {
		out.Set("connect_timeout", "10")
	}
	u := url.URL{Scheme: "postgres", Host: host, Path: "/" + db, RawQuery: out.Encode()}
	if user != "" {
		u.User = url.UserPassword(user, password)
	}
	return &target{dialect: postgresDialect, driver: "pgx", dsn: u.String(), host: host}, nil
}

func mysqlTarget(raw string, d dialect, host, db, user, password string, q url.Values) (*target, error) {
	if _, _, err := net.SplitHostPort(host); err != nil {
		host = net.JoinHostPort(host, "3306")
	}
	c := mysql.NewConfig()
	c.User, c.Passwd, c.Net, c.Addr, c.DBName = user, password, "tcp", host, db
	c.Timeout = 10 * time.Second
	c.Loc = time.UTC
	c.Params = map[string]string{"time_zone": "'+00:00'"}
	millis := func(k, v string) (time.Duration, error) {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("%q: URL parameter %s must be milliseconds, got %q", raw, k, v)
		}
		return time.Duration(n) * time.Millisecond, nil
	}
	for k, vs := range q {
		v := vs[len(vs)-1]
		var err error
		switch k {
		case "connectTimeout":
			c.Timeout, err = millis(k, v)
		case "socketTimeout":
			c.ReadTimeout, err = millis(k, v)
			c.WriteTimeout = c.ReadTimeout
		case "sslMode", "sslmode":
			switch strings.ToUpper(v) {
			case "DISABLED", "DISABLE":
				c.TLSConfig = "false"
			case "PREFERRED", "PREFER":
				c.TLSConfig = "preferred"
			case "REQUIRED", "REQUIRE", "TRUST":
				c.TLSConfig = "skip-verify"
			case "VERIFY_CA", "VERIFY_IDENTITY", "VERIFY-CA", "VERIFY-FULL":
				c.TLSConfig = "true"
			default:
				err = fmt.Errorf("%q: unknown sslMode %q", raw, v)
			}
		case "useSSL":
			c.TLSConfig = map[bool]string{true: "true", false: "false"}[strings.EqualFold(v, "true")]
		case "serverTimezone", "connectionTimeZone":
			if !strings.EqualFold(v, "UTC") && v != "Z" && v != "+00:00" {
				err = fmt.Errorf("%q: URL parameter %s=%s: only UTC is supported", raw, k, v)
			}
		case "characterEncoding":
			if !strings.EqualFold(strings.ReplaceAll(v, "-", ""), "utf8") && !strings.EqualFold(v, "utf8mb4") {
				err = fmt.Errorf("%q: characterEncoding=%s: only UTF-8 is supported", raw, v)
			}
		case "rewriteBatchedStatements":
		default:
			err = fmt.Errorf("%q: URL parameter %s is not supported by Sluice's JDBC sink", raw, k)
		}
		if err != nil {
			return nil, err
		}
	}
	return &target{dialect: d, driver: "mysql", dsn: c.FormatDSN(), host: host}, nil
}

// serverDialect refines the URL's dialect by the server's version (SELECT
// VERSION()): MySQL from 8.0.20 on writes upserts with a row alias, as
// Debezium chooses from the server at connect; MariaDB (whatever the URL
// says) and older MySQL keep VALUES().
func serverDialect(d dialect, version string) dialect {
	if d != mysqlDialect || strings.Contains(strings.ToLower(version), "mariadb") {
		return d
	}
	var major, minor, patch int
	if n, _ := fmt.Sscanf(version, "%d.%d.%d", &major, &minor, &patch); n < 2 {
		return d
	}
	if major > 8 || (major == 8 && (minor > 0 || patch >= 20)) {
		return mysqlAliasDialect
	}
	return d
}
