package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/sluicehq/sluice/broker"
	"github.com/sluicehq/sluice/internal/javaprops"
	"github.com/sluicehq/sluice/internal/logging"
)

// setFlags collects repeated --set key=value flags.
type setFlags map[string]string

func (s setFlags) String() string { return fmt.Sprint(map[string]string(s)) }

func (s setFlags) Set(v string) error {
	k, val, ok := strings.Cut(v, "=")
	if !ok || strings.TrimSpace(k) == "" {
		return fmt.Errorf("%q is not key=value", v)
	}
	s[strings.TrimSpace(k)] = val
	return nil
}

func runBroker(ctx context.Context, args []string, logger *slog.Logger, stderr io.Writer) error {
	fs := flag.NewFlagSet("sluice broker", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "", "a Kafka server.properties file")
	sets := setFlags{}
	fs.Var(sets, "set", "override one broker config, key=value (repeatable)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	props := map[string]string{}
	if *configPath != "" {
		var err error
		if props, err = javaprops.LoadFile(*configPath); err != nil {
			return fmt.Errorf("read config: %w", err)
		}
	}
	for k, v := range sets {
		props[k] = v
	}
	cfg, err := broker.NewConfig(props)
	if err != nil {
		return fmt.Errorf("broker config: %w", err)
	}
	blog := brokerLogger(logger)
	return broker.Serve(ctx, cfg, blog, func(srv *broker.Server) {
		blog.Info("sluice broker listening", "addr", srv.Addr().String(), "data_dir", cfg.DataDir)
	})
}

// brokerLogger names the bundled broker's logger, so /admin/loggers can set
// its level.
func brokerLogger(logger *slog.Logger) *slog.Logger {
	return logger.With(logging.LoggerKey, "sluice.broker")
}
