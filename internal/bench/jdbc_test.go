package bench

import (
	"context"
	"database/sql"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/internal/testenv"
)

func TestJDBCFlags(t *testing.T) {
	var stderr strings.Builder
	_, err := parseJDBCFlags([]string{"--rows", "10"}, &stderr)
	assert.ErrorContains(t, err, "--url is empty")
	_, err = parseJDBCFlags([]string{"--url", "jdbc:sqlserver://h/db", "--rows", "1500", "--batch", "1000"}, &stderr)
	assert.ErrorContains(t, err, `unsupported JDBC subprotocol "sqlserver"`)
	assert.ErrorContains(t, err, "rows (1500) must be a multiple of batch (1000)")
	o, err := parseJDBCFlags([]string{"--url", "jdbc:postgresql://h/db"}, &stderr)
	require.NoError(t, err)
	assert.Equal(t, 1000, o.Batch)
	assert.Equal(t, 3, o.Runs)
}

// TestJDBCRuns runs `sluice bench jdbc` small against a real Postgres and
// a real MariaDB: the summary's figures are positive and its ratio is
// theirs, a line per run went to stderr, and both tables hold every key's
// row with its values.
func TestJDBCRuns(t *testing.T) {
	for _, name := range []string{"postgres", "mariadb"} {
		t.Run(name, func(t *testing.T) {
			var url, user, pass string
			var db *sql.DB
			if name == "postgres" {
				pg := testenv.StartPostgres(t)
				pg.Exec(t, "CREATE DATABASE bench")
				url = fmt.Sprintf("jdbc:postgresql://%s:%d/bench?user=postgres&sslmode=disable", pg.Host, pg.Port)
				var err error
				db, err = sql.Open("pgx", pg.DSN("bench"))
				require.NoError(t, err)
				t.Cleanup(func() { _ = db.Close() })
			} else {
				m := testenv.StartMariaDB(t)
				m.CreateDatabase(t, "bench")
				url, user, pass, db = m.JDBCURL("bench"), m.User, m.Password, m.Open(t, "bench")
			}
			var stdout, stderr strings.Builder
			args := []string{"jdbc", "--url", url, "--rows", "4000", "--batch", "1000", "--keys", "3000", "--runs", "3"}
			if user != "" {
				args = append(args, "--user", user, "--password", pass)
			}
			require.NoError(t, Main(context.Background(), args, &stdout, &stderr), stderr.String())
			out := stdout.String()
			m := regexp.MustCompile(`^jdbc (\w+): 4000 rows of 10 columns per run \(3000 keys\), batches of 1000, median of 3 runs: ` +
				`sink task (\d+) rows/s; direct driver (\d+) rows/s; ratio \(sink / direct\) ([0-9.]+)\n$`).FindStringSubmatch(out)
			require.NotNil(t, m, out)
			assert.Equal(t, name, m[1])
			sink, _ := strconv.ParseFloat(m[2], 64)
			direct, _ := strconv.ParseFloat(m[3], 64)
			ratio, _ := strconv.ParseFloat(m[4], 64)
			assert.Positive(t, sink)
			assert.Positive(t, direct)
			assert.InDelta(t, sink/direct, ratio, 0.01)
			assert.Equal(t, 3, strings.Count(stderr.String(), "jdbc "+name+" run "), stderr.String())
			for _, table := range []string{"bench_sink", "bench_direct"} {
				var n, distinct, sumN1 int64
				require.NoError(t, db.QueryRow("SELECT COUNT(*), COUNT(DISTINCT id), SUM(n1) FROM "+table).Scan(&n, &distinct, &sumN1))
				assert.Equal(t, [3]int64{3000, 3000, 2999 * 3000 / 2}, [3]int64{n, distinct, sumN1}, table)
				var s2 string
				var f0 float64
				require.NoError(t, db.QueryRow("SELECT s2, f0 FROM "+table+" WHERE id = 2998").Scan(&s2, &f0))
				assert.Equal(t, "value-2998-2", s2, table)
				assert.InDelta(t, 2998.0/3, f0, 1e-9, table)
			}
		})
	}
}
