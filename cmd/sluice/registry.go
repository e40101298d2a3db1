package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/internal/logging"
	registry "github.com/sluicehq/sluice/schema-registry"
)

// runRegistry is `sluice registry --bootstrap-servers ADDR --listen ADDR`:
// the schema registry alone, its state in the _schemas topic of any
// Kafka-compatible cluster. The tunables take Confluent's key names.
func runRegistry(ctx context.Context, args []string, logger *slog.Logger, stderr io.Writer) error {
	fs := flag.NewFlagSet("sluice registry", flag.ContinueOnError)
	fs.SetOutput(stderr)
	brokers := fs.String("bootstrap-servers", "127.0.0.1:9092", "Kafka brokers holding the _schemas topic (comma-separated)")
	listen := fs.String("listen", "127.0.0.1:8081", "REST listener")
	topic := fs.String("topic", "_schemas", "the registry's state topic (Confluent's kafkastore.topic)")
	group := fs.String("group-id", "schema-registry", "group the instances join to elect the primary")
	storeTimeout := fs.Int64("kafkastore.timeout.ms", registry.DefaultStoreTimeout.Milliseconds(),
		"bound of each step of a write on the topic (catching up, the broker's ack, reading it back); a write that takes longer fails with 50002")
	maxBody := fs.Int64("size.limit.filter.max.request.body.size", registry.DefaultMaxRequestBodyBytes,
		"largest request body in bytes; larger ones are refused with 413 (always on, unlike Confluent's size.limit.filter.enabled)")
	idleTimeout := fs.Int64("idle.timeout.ms", registry.DefaultIdleTimeout.Milliseconds(),
		"time allowed to send a whole request, and to keep an idle connection open")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	var bad []error
	for _, f := range []struct {
		name string
		v    int64
	}{{"kafkastore.timeout.ms", *storeTimeout}, {"size.limit.filter.max.request.body.size", *maxBody}, {"idle.timeout.ms", *idleTimeout}} {
		if f.v <= 0 {
			bad = append(bad, fmt.Errorf("--%s must be positive, not %d", f.name, f.v))
		}
	}
	if err := errors.Join(bad...); err != nil {
		return err
	}
	opts := registryOptions(strings.Split(*brokers, ","), *listen, *topic, *group, logger)
	opts.StoreTimeout = time.Duration(*storeTimeout) * time.Millisecond
	opts.MaxRequestBodyBytes = *maxBody
	opts.IdleTimeout = time.Duration(*idleTimeout) * time.Millisecond
	return serveRegistryWith(ctx, opts, logger)
}

// serveRegistry runs one registry instance with default tunables until
// ctx ends.
func serveRegistry(ctx context.Context, brokers []string, listen, topic, group string, logger *slog.Logger) error {
	return serveRegistryWith(ctx, registryOptions(brokers, listen, topic, group, logger), logger)
}

// registryOptions are a registry's options with default tunables.
func registryOptions(brokers []string, listen, topic, group string, logger *slog.Logger) registry.Options {
	return registry.Options{
		ClientOpts: []kgo.Opt{kgo.SeedBrokers(brokers...), kgo.MetadataMinAge(250 * time.Millisecond)},
		Topic:      topic,
		Listen:     listen,
		GroupID:    group,
		Logger:     logger.With(logging.LoggerKey, "sluice.registry"),
	}
}

// serveRegistryWith runs one registry instance until ctx ends.
func serveRegistryWith(ctx context.Context, opts registry.Options, logger *slog.Logger) error {
	srv, err := registry.New(opts)
	if err != nil {
		return fmt.Errorf("schema registry: %w", err)
	}
	addr, err := srv.Listen()
	if err != nil {
		return fmt.Errorf("schema registry listener %s: %w", opts.Listen, err)
	}
	opts.Logger.Info("sluice schema registry listening", "addr", addr.String())
	if err := srv.Run(ctx); err != nil && ctx.Err() == nil {
		return err
	}
	return nil // stopped, perhaps while still reading the topic
}
