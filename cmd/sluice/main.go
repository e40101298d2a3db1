// Command sluice is the one Sluice binary: the all-in-one embedded server,
// the bundled Kafka-protocol broker on its own, and the load tool.
//
//	sluice up [--data-dir DIR] [--broker-addr HOST:PORT] [--rest-addr HOST:PORT] [--registry-addr HOST:PORT]
//	sluice broker [--config server.properties] [--set key=value ...]
//	sluice worker --config worker.properties [--set key=value ...]
//	sluice standalone worker.properties connector.properties...
//	sluice registry --bootstrap-servers ADDR --listen ADDR
//	sluice bench produce|consume --brokers ADDR --topic T ...
//	sluice version
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/sluicehq/sluice/internal/logging"
	"github.com/sluicehq/sluice/runtime/worker"
)

func main() {
	// GET / of the REST API reports these, as Kafka Connect reports its
	// version and commit id.
	v := readBuildVersion()
	worker.Version, worker.Commit = v.version, v.commit()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "sluice:", err)
		os.Exit(1)
	}
}

const usage = `usage: sluice <command> [flags]

commands:
  up          run the broker and a Connect worker (REST API) in one process
  broker      run the Kafka-protocol broker alone, configured with Kafka's server.properties keys
  worker      run a Connect worker against any Kafka cluster (worker.properties)
  standalone  run a standalone Connect worker with connectors from files, as connect-standalone
  registry    run the schema registry (Confluent REST API) against any Kafka cluster
  bench       produce or consume load against any Kafka-compatible broker
  version     print the version, commit and Go version (also --version)
`

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("no command given")
	}
	levels := logging.NewLevels(logLevel(), nil)
	logger := slog.New(logging.NewHandler(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelDebug - 4}), levels))
	var serve func() error
	switch args[0] {
	case "up":
		serve = func() error { return runUp(ctx, args[1:], logger, levels, stderr) }
	case "worker":
		serve = func() error { return runWorker(ctx, args[1:], logger, levels, stderr) }
	case "standalone":
		serve = func() error { return runStandalone(ctx, args[1:], logger, levels, stderr) }
	case "registry":
		serve = func() error { return runRegistry(ctx, args[1:], logger, stderr) }
	case "broker":
		serve = func() error { return runBroker(ctx, args[1:], logger, stderr) }
	case "bench":
		return runBench(ctx, args[1:], stdout, stderr)
	case "version", "-version", "--version":
		return runVersion(args[1:], stdout)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("unknown command %q", args[0])
	}
	// Every server ends with this line once it has stopped cleanly (Kafka
	// Connect's "Kafka Connect stopped"); a failure is printed by main.
	err := serve()
	if err == nil {
		logger.Info("sluice stopped")
	}
	return err
}

// logLevel reads SLUICE_LOG_LEVEL (debug, info, warn, error).
func logLevel() slog.Level {
	var l slog.Level
	if err := l.UnmarshalText([]byte(os.Getenv("SLUICE_LOG_LEVEL"))); err != nil {
		return slog.LevelInfo
	}
	return l
}
