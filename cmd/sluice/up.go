package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"

	"github.com/sluicehq/sluice/broker"
)

func runUp(ctx context.Context, args []string, logger *slog.Logger, stderr io.Writer) error {
	fs := flag.NewFlagSet("sluice up", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dataDir := fs.String("data-dir", "./sluice-data", "data directory")
	brokerAddr := fs.String("broker-addr", "127.0.0.1:9092", "Kafka protocol listener")
	restAddr := fs.String("rest-addr", "127.0.0.1:8083", "Kafka Connect REST API listener (not served yet)")
	registryAddr := fs.String("registry-addr", "127.0.0.1:8081", "schema registry listener (not served yet)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	for name, addr := range map[string]string{"--rest-addr": *restAddr, "--registry-addr": *registryAddr} {
		if _, _, err := net.SplitHostPort(addr); err != nil {
			return fmt.Errorf("%s %q: %w", name, addr, err)
		}
	}
	cfg, err := broker.NewConfig(map[string]string{
		"listeners": "PLAINTEXT://" + *brokerAddr,
		"log.dirs":  *dataDir,
	})
	if err != nil {
		return fmt.Errorf("broker config: %w", err)
	}
	err = broker.Serve(ctx, cfg, logger, func(addr net.Addr) {
		logger.Info("sluice broker listening", "component", "broker", "addr", addr.String(), "data_dir", cfg.DataDir)
	})
	if err == nil {
		logger.Info("sluice stopped")
	}
	return err
}
