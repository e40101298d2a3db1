package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	registry "github.com/sluicehq/sluice/schema-registry"
)

// runRegistry is `sluice registry --bootstrap-servers ADDR --listen ADDR`:
// the schema registry alone, its state in the _schemas topic of any
// Kafka-compatible cluster.
func runRegistry(ctx context.Context, args []string, logger *slog.Logger, stderr io.Writer) error {
	fs := flag.NewFlagSet("sluice registry", flag.ContinueOnError)
	fs.SetOutput(stderr)
	brokers := fs.String("bootstrap-servers", "127.0.0.1:9092", "Kafka brokers holding the _schemas topic (comma-separated)")
	listen := fs.String("listen", "127.0.0.1:8081", "REST listener")
	topic := fs.String("topic", "_schemas", "the registry's state topic (Confluent's kafkastore.topic)")
	group := fs.String("group-id", "schema-registry", "group the instances join to elect the primary")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	return serveRegistry(ctx, strings.Split(*brokers, ","), *listen, *topic, *group, logger)
}

// serveRegistry runs one registry instance until ctx ends.
func serveRegistry(ctx context.Context, brokers []string, listen, topic, group string, logger *slog.Logger) error {
	srv, err := registry.New(registry.Options{
		ClientOpts: []kgo.Opt{kgo.SeedBrokers(brokers...), kgo.MetadataMinAge(250 * time.Millisecond)},
		Topic:      topic,
		Listen:     listen,
		GroupID:    group,
		Logger:     logger.With("logger", "sluice.registry"),
	})
	if err != nil {
		return fmt.Errorf("schema registry: %w", err)
	}
	addr, err := srv.Listen()
	if err != nil {
		return fmt.Errorf("schema registry listener %s: %w", listen, err)
	}
	logger.Info("sluice schema registry listening", "component", "registry", "addr", addr.String())
	return srv.Run(ctx)
}
