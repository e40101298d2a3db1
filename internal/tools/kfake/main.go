// Command kfake runs franz-go's in-memory Kafka (kfake) as one broker, for
// comparing `sluice bench` numbers against a reference implementation:
//
//	go run ./internal/tools/kfake --addr 127.0.0.1:9093 --partitions 8
//
// Topics are auto-created with --partitions partitions. It prints
// "kfake listening on ADDR" and runs until SIGINT or SIGTERM. Data lives in
// memory only and is gone when it stops.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/sluicehq/sluice/internal/bench/kfakeserver"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "kfake:", err)
		os.Exit(1)
	}
}

// run starts kfake as args say and blocks until ctx is done.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("kfake", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:9093", "`host:port` to listen on (port 0 picks a free one)")
	partitions := fs.Int("partitions", 8, "partitions of auto-created topics")
	logLevel := fs.String("log-level", "none", "kfake log level to stderr: none, error, warn, info or debug")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	level, err := parseLogLevel(*logLevel)
	if err != nil {
		return err
	}

	c, err := kfakeserver.New(*addr, *partitions, kfake.WithLogger(kfake.BasicLogger(stderr, level)))
	if err != nil {
		return err
	}
	defer c.Close()
	fmt.Fprintf(stdout, "kfake listening on %s\n", c.ListenAddrs()[0])
	<-ctx.Done()
	return nil
}

func parseLogLevel(s string) (kfake.LogLevel, error) {
	switch s {
	case "none":
		return kfake.LogLevelNone, nil
	case "error":
		return kfake.LogLevelError, nil
	case "warn":
		return kfake.LogLevelWarn, nil
	case "info":
		return kfake.LogLevelInfo, nil
	case "debug":
		return kfake.LogLevelDebug, nil
	}
	return 0, fmt.Errorf("--log-level %q: want none, error, warn, info or debug", s)
}
