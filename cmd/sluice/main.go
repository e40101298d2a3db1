// Command sluice is the one Sluice binary: the all-in-one embedded server,
// the bundled Kafka-protocol broker on its own, and the load tool.
//
//	sluice up [--data-dir DIR] [--broker-addr HOST:PORT] [--rest-addr HOST:PORT] [--registry-addr HOST:PORT]
//	sluice broker [--config server.properties] [--set key=value ...]
//	sluice worker --config worker.properties [--set key=value ...]
//	sluice standalone worker.properties connector.properties...
//	sluice registry --bootstrap-servers ADDR --listen ADDR
//	sluice bench produce|consume --brokers ADDR --topic T ...
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
)

func main() {
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
`

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("no command given")
	}
	levels := logging.NewLevels(logLevel(), nil)
	logger := slog.New(logging.NewHandler(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelDebug - 4}), levels))
	switch args[0] {
	case "up":
		return runUp(ctx, args[1:], logger, levels, stderr)
	case "worker":
		return runWorker(ctx, args[1:], logger, levels, stderr)
	case "standalone":
		return runStandalone(ctx, args[1:], logger, levels, stderr)
	case "registry":
		return runRegistry(ctx, args[1:], logger, stderr)
	case "broker":
		return runBroker(ctx, args[1:], logger, stderr)
	case "bench":
		return runBench(ctx, args[1:], stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", args[0])
}

// logLevel reads SLUICE_LOG_LEVEL (debug, info, warn, error).
func logLevel() slog.Level {
	var l slog.Level
	if err := l.UnmarshalText([]byte(os.Getenv("SLUICE_LOG_LEVEL"))); err != nil {
		return slog.LevelInfo
	}
	return l
}
