package jdbc

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseURL(t *testing.T) {
	for _, tc := range []struct {
		url, user, pass string
		dialect         dialect
		driver, dsn     string
	}{
		{"jdbc:postgresql://db.example:5433/shop?sslmode=require&currentSchema=sales", "app", "s3cr3t", postgresDialect, "pgx",
			"postgres://app:s3cr3t@db.example:5433/shop?connect_timeout=10&search_path=sales&sslmode=require"},
		{"jdbc:postgresql://localhost/shop?user=u&password=p", "", "", postgresDialect, "pgx",
			"postgres://u:p@localhost:5432/shop?connect_timeout=10"},
		{"jdbc:mysql://127.0.0.1/inventory?useSSL=false&serverTimezone=UTC", "root", "pw", mysqlDialect, "mysql",
			"root:pw@tcp(127.0.0.1:3306)/inventory?timeout=10s&tls=false&time_zone=%27%2B00%3A00%27"},
		{"jdbc:mariadb://maria:3307/rep?connectTimeout=2000", "u", "", mariadbDialect, "mysql",
			"u@tcp(maria:3307)/rep?timeout=2s&time_zone=%27%2B00%3A00%27"},
	} {
		t.Run(tc.url, func(t *testing.T) {
			got, err := parseURL(tc.url, tc.user, tc.pass)
			require.NoError(t, err)
			assert.Equal(t, tc.dialect, got.dialect)
			assert.Equal(t, tc.driver, got.driver)
			assert.Equal(t, tc.dsn, got.dsn)
		})
	}
}

func TestParseURLRefuses(t *testing.T) {
	for url, want := range map[string]string{
		"postgresql://h/db":                             "is not a JDBC URL",
		"jdbc:oracle:thin:@h:1521/x":                    "expected jdbc:<subprotocol>://",
		"jdbc:sqlserver://h:1433/db":                    `unsupported JDBC subprotocol "sqlserver"`,
		"jdbc:postgresql://h1,h2/db":                    "exactly one host",
		"jdbc:postgresql://h/":                          "expected a database name",
		"jdbc:postgresql://h/db?loggerLevel=DEBUG":      "URL parameter loggerLevel is not supported",
		"jdbc:mysql://h/db?serverTimezone=Europe/Paris": "only UTC is supported",
		"jdbc:mysql://h/db?connectTimeout=soon":         "must be milliseconds",
	} {
		_, err := parseURL(url, "", "")
		require.Error(t, err, url)
		assert.Contains(t, err.Error(), want, url)
	}
}
