package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/connectors/builtin"
	"github.com/sluicehq/sluice/internal/javaprops"
	"github.com/sluicehq/sluice/internal/logging"
	"github.com/sluicehq/sluice/rest"
	"github.com/sluicehq/sluice/runtime/storage"
	"github.com/sluicehq/sluice/runtime/worker"
)

// runWorker is `sluice worker --config worker.properties`: a worker
// against any Kafka cluster, with configs, offsets and status in the
// internal topics.
func runWorker(ctx context.Context, args []string, logger *slog.Logger, levels *logging.Levels, stderr io.Writer) error {
	fs := flag.NewFlagSet("sluice worker", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "", "a Kafka Connect worker.properties file")
	sets := setFlags{}
	fs.Var(sets, "set", "override one worker config, key=value (repeatable)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	props := map[string]string{}
	if *configPath != "" {
		var err error
		if props, err = readProperties(*configPath); err != nil {
			return err
		}
	}
	maps.Copy(props, sets)
	return serveWorker(ctx, props, nil, logger, levels)
}

// runStandalone is `sluice standalone worker.properties connector...`, as
// Kafka's connect-standalone: connectors from files, offsets in
// offset.storage.file.filename, configs and status in memory.
func runStandalone(ctx context.Context, args []string, logger *slog.Logger, levels *logging.Levels, stderr io.Writer) error {
	fs := flag.NewFlagSet("sluice standalone", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: sluice standalone worker.properties [connector.properties|connector.json ...]")
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() < 1 {
		fs.Usage()
		return errors.New("standalone needs a worker config file")
	}
	props, err := readProperties(fs.Arg(0))
	if err != nil {
		return err
	}
	if props[worker.KeyOffsetFile] == "" {
		return fmt.Errorf("%s: %s is required in standalone mode", fs.Arg(0), worker.KeyOffsetFile)
	}
	connectors := []map[string]string{}
	for _, path := range fs.Args()[1:] {
		c, err := readConnectorFile(path)
		if err != nil {
			return err
		}
		connectors = append(connectors, c)
	}
	return serveWorker(ctx, props, connectors, logger, levels)
}

// readProperties reads a Java .properties file.
func readProperties(path string) (map[string]string, error) {
	props, err := javaprops.LoadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	return props, nil
}

// readConnectorFile reads a connector config: .properties, or JSON either
// flat or as {"name":…,"config":{…}} (the REST body).
func readConnectorFile(path string) (map[string]string, error) {
	if !strings.EqualFold(filepath.Ext(path), ".json") {
		props, err := readProperties(path)
		if err == nil && props[worker.KeyName] == "" {
			return nil, fmt.Errorf("connector config %s: %s is required", path, worker.KeyName)
		}
		return props, err
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read connector config: %w", err)
	}
	var body struct {
		Name   string            `json:"name"`
		Config map[string]string `json:"config"`
	}
	if err := json.Unmarshal(b, &body); err == nil && body.Config != nil {
		if body.Config[worker.KeyName] == "" {
			body.Config[worker.KeyName] = body.Name
		}
		return body.Config, nil
	}
	var flat map[string]string
	if err := json.Unmarshal(b, &flat); err != nil {
		return nil, fmt.Errorf("connector config %s: %w", path, err)
	}
	if flat[worker.KeyName] == "" {
		return nil, fmt.Errorf("connector config %s: %s is required", path, worker.KeyName)
	}
	return flat, nil
}

// serveWorker runs the stores, the herder and the REST API until ctx ends.
// standalone is nil for a worker with Kafka-backed stores; otherwise it
// lists the connectors to create at start.
func serveWorker(ctx context.Context, props map[string]string, standalone []map[string]string, logger *slog.Logger, levels *logging.Levels) error {
	return serveWorkerChecked(ctx, props, standalone, logger, levels, nil)
}

// serveWorkerChecked is serveWorker with health checks of the embedding
// process (`sluice up` passes the bundled broker's) that GET /health runs
// after the worker's own: the herder's, and whether the last write to each
// internal topic succeeded.
func serveWorkerChecked(ctx context.Context, props map[string]string, standalone []map[string]string, logger *slog.Logger,
	levels *logging.Levels, healthChecks []func(context.Context) error) error {
	cfg, err := worker.NewConfig(props)
	if err != nil {
		return err
	}
	// A short metadata age lets clients find topics created moments ago
	// (kgo's default of 5 s would stall a sink subscribed to a new topic,
	// and the stores' reads of their just-created topics).
	clientOpts := []kgo.Opt{kgo.SeedBrokers(cfg.BootstrapServers...), kgo.MetadataMinAge(250 * time.Millisecond)}
	wlog := logger.With(logging.LoggerKey, "sluice.worker")
	opts := worker.Options{Config: cfg, Plugins: worker.Plugins{Connectors: builtin.Connectors(), Others: builtin.Others()}, ClientOpts: clientOpts, Logger: logger}

	// Stores start first and stop last: the herder's final offset commits
	// and status writes must reach them.
	storeCtx, stopStores := context.WithCancel(context.WithoutCancel(ctx))
	defer stopStores()
	var runStores func(context.Context) error
	var watch func(*worker.Herder)
	if standalone != nil {
		fileStore, err := storage.NewFileOffsetStore(cfg.OffsetFile, logger)
		if err != nil {
			return err
		}
		if err := fileStore.Start(ctx); err != nil {
			return fmt.Errorf("offset file %s: %w", cfg.OffsetFile, err)
		}
		opts.Offsets, opts.Standalone = fileStore, true
		runStores = fileStore.Run
	} else {
		ks, err := worker.NewKafkaStores(cfg, clientOpts, logger.With("logger", "sluice.storage"))
		if err != nil {
			return err
		}
		if err := startWithRetry(ctx, wlog, ks.Start); err != nil {
			if ctx.Err() != nil {
				return nil // stopped while starting
			}
			return err
		}
		ks.Bind(&opts)
		opts.Distributed = true
		healthChecks = append([]func(context.Context) error{ks.WriteHealth}, healthChecks...)
		runStores, watch = ks.Run, ks.Watch
	}
	h, err := worker.New(opts)
	if err != nil {
		return err
	}
	// /health names an unreachable Kafka cluster first: it explains the
	// failures the other checks see.
	healthChecks = append([]func(context.Context) error{h.ClusterHealth}, healthChecks...)
	if watch != nil {
		watch(h)
	}
	restOpts := rest.Options{Listen: cfg.RestListen, Logger: logger.With(logging.LoggerKey, "sluice.rest"), Levels: levels,
		RequestTimeout: cfg.RequestTimeout, HealthChecks: healthChecks}
	return serveHerder(ctx, storeCtx, stopStores, h, cfg, restOpts, runStores, standalone, wlog)
}

// startWithRetry retries a store start while the cluster is unreachable,
// so a worker may start before its brokers.
func startWithRetry(ctx context.Context, logger *slog.Logger, start func(context.Context) error) error {
	delay := 500 * time.Millisecond
	for {
		sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		err := start(sctx)
		cancel()
		if err == nil || ctx.Err() != nil {
			return err
		}
		var policy *storage.TopicPolicyError
		if errors.As(err, &policy) {
			return err
		}
		logger.Warn("cannot start the worker's stores yet; retrying", "retry_in", delay, "error", err)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(delay):
		}
		delay = min(delay*2, 10*time.Second)
	}
}

func serveHerder(ctx, storeCtx context.Context, stopStores context.CancelFunc, h *worker.Herder, cfg worker.Config,
	restOpts rest.Options, runStores func(context.Context) error, standalone []map[string]string, logger *slog.Logger) error {
	srv := rest.New(h, restOpts)
	addr, err := srv.Listen()
	if err != nil {
		return fmt.Errorf("REST listener %s: %w", cfg.RestListen, err)
	}
	host, port, _ := net.SplitHostPort(addr.String())
	cfg.SetAdvertised(host, port)
	h.SetWorkerID(cfg.WorkerID)

	var wg sync.WaitGroup
	var storeErr, herderErr, restErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		storeErr = runStores(storeCtx)
	}()
	herderDone := make(chan struct{})
	go func() {
		defer close(herderDone)
		herderErr = h.Run(ctx)
	}()
	restCtx, stopRest := context.WithCancel(ctx)
	defer stopRest()
	restDone := make(chan struct{})
	go func() {
		defer close(restDone)
		restErr = srv.Run(restCtx)
	}()
	for !h.Ready() {
		select {
		case <-herderDone:
			stopRest()
			<-restDone
			stopStores()
			wg.Wait()
			return errors.Join(herderErr, storeErr)
		case <-time.After(10 * time.Millisecond):
		}
	}
	for _, c := range standalone {
		if _, _, err := h.PutConnectorConfig(ctx, c[worker.KeyName], c); err != nil {
			logger.Error("create connector from file", "connector", c[worker.KeyName], "error", err)
		}
	}
	logger.Info("sluice worker REST listening", "addr", addr.String(), "worker_id", cfg.WorkerID)
	<-herderDone
	stopRest()
	<-restDone
	stopStores()
	wg.Wait()
	return errors.Join(herderErr, restErr, storeErr)
}
