package bench

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/sluicehq/sluice/connectors/jdbc"
)

// JDBCOptions configure [JDBC]: upserts of 10-column rows through one
// JDBC sink task, beside the same upserts issued directly with the same
// driver (see [jdbc.Bench]).
type JDBCOptions struct {
	URL, User, Password string
	Rows, Batch, Keys   int
	Runs                int
	Timeout             time.Duration
}

func parseJDBCFlags(args []string, stderr io.Writer) (JDBCOptions, error) {
	o := JDBCOptions{Rows: 200000, Batch: 1000, Runs: 3, Timeout: DefaultTimeout}
	fs := flag.NewFlagSet("sluice bench jdbc", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.URL, "url", "", "JDBC `URL` of the database (connection.url): jdbc:postgresql://host:port/db, jdbc:mysql://… or jdbc:mariadb://…; the run drops and creates the tables "+
		jdbc.BenchSinkTable+" and "+jdbc.BenchDirectTable)
	fs.StringVar(&o.User, "user", "", "connection.user")
	fs.StringVar(&o.Password, "password", "", "connection.password")
	fs.IntVar(&o.Rows, "rows", o.Rows, "rows per run through each side, a multiple of --batch")
	fs.IntVar(&o.Batch, "batch", o.Batch, "records per Put and batch.size of the sink; rows per statement and transaction of the direct driver")
	fs.IntVar(&o.Keys, "keys", 0, "distinct ids the rows cycle over (0: the smaller of --rows and 50000); rows past them are updates")
	fs.IntVar(&o.Runs, "runs", o.Runs, "runs, sink and direct alternating first, each on emptied tables; the median is reported")
	fs.DurationVar(&o.Timeout, "timeout", o.Timeout, "give up after this long")
	if err := parseFlags(fs, args); err != nil {
		return o, err
	}
	return o, o.Validate()
}

func (o JDBCOptions) bench(progress io.Writer) jdbc.BenchOptions {
	return jdbc.BenchOptions{URL: o.URL, User: o.User, Password: o.Password, Rows: o.Rows, Batch: o.Batch,
		Keys: o.Keys, Runs: o.Runs, Progress: progress}
}

// Validate reports every problem with o at once.
func (o JDBCOptions) Validate() error {
	if o.URL == "" {
		return errors.New("--url is empty: give the JDBC URL of a Postgres, MySQL or MariaDB database")
	}
	err := o.bench(nil).Validate()
	if err != nil {
		return fmt.Errorf("--url, --rows, --batch, --keys or --runs: %w", err)
	}
	return nil
}

// JDBC runs the benchmark, a line per run on progress.
func JDBC(ctx context.Context, o JDBCOptions, progress io.Writer) (jdbc.BenchResult, error) {
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	return jdbc.Bench(ctx, o.bench(progress))
}

func mainJDBC(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return runSummarized(ctx, "jdbc", args, stdout, stderr, parseJDBCFlags, JDBC)
}
