package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"strings"

	"github.com/sluicehq/sluice/broker"
	"github.com/sluicehq/sluice/internal/logging"
	"github.com/sluicehq/sluice/runtime/worker"
)

// registryTopic is where the schema registry of `sluice up` keeps its state.
const registryTopic = "_schemas"

// upWorkerDefaults are the worker settings of `sluice up`, before
// --worker-config: Kafka's defaults except a shorter offset flush interval
// (fewer duplicates after a crash on a single machine).
var upWorkerDefaults = map[string]string{
	"group.id":                 "sluice",
	"offset.flush.interval.ms": "10000",
}

func runUp(ctx context.Context, args []string, logger *slog.Logger, levels *logging.Levels, stderr io.Writer) error {
	fs := flag.NewFlagSet("sluice up", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dataDir := fs.String("data-dir", "./sluice-data", "data directory")
	brokerAddr := fs.String("broker-addr", "127.0.0.1:9092", "Kafka protocol listener")
	restAddr := fs.String("rest-addr", "127.0.0.1:8083", "Kafka Connect REST API listener")
	registryAddr := fs.String("registry-addr", "127.0.0.1:8081", "schema registry listener")
	workerConfig := fs.String("worker-config", "", "worker.properties with extra worker settings")
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
	workerProps := maps.Clone(upWorkerDefaults)
	if *workerConfig != "" {
		extra, err := readProperties(*workerConfig)
		if err != nil {
			return err
		}
		maps.Copy(workerProps, extra)
	}
	workerProps["bootstrap.servers"] = *brokerAddr
	workerProps["listeners"] = "http://" + *restAddr
	// Checked before the broker opens the data directory; also names the
	// worker's topics, which the broker protects with the registry's.
	wcfg, err := worker.NewConfig(workerProps)
	if err != nil {
		return err
	}
	cfg, err := broker.NewConfig(map[string]string{
		"listeners":               "PLAINTEXT://" + *brokerAddr,
		"log.dirs":                *dataDir,
		broker.ProtectedTopicsKey: strings.Join([]string{registryTopic, wcfg.ConfigTopic, wcfg.OffsetTopic, wcfg.StatusTopic}, ","),
	})
	if err != nil {
		return fmt.Errorf("broker config: %w", err)
	}

	// The broker outlives the worker, so the worker's final commits land.
	brokerCtx, stopBroker := context.WithCancel(context.WithoutCancel(ctx))
	defer stopBroker()
	listening := make(chan *broker.Server, 1)
	brokerDone := make(chan error, 1)
	blog := brokerLogger(logger)
	go func() {
		brokerDone <- broker.Serve(brokerCtx, cfg, blog, func(srv *broker.Server) {
			blog.Info("sluice broker listening", "addr", srv.Addr().String(), "data_dir", cfg.DataDir)
			listening <- srv
		})
	}()
	var srv *broker.Server
	select {
	case srv = <-listening:
	case err := <-brokerDone:
		return err
	}
	addr := srv.Addr()
	workerProps["bootstrap.servers"] = addr.String()
	// The worker's /health also says when the bundled broker cannot accept
	// connections or a partition refuses writes (a full disk).
	brokerHealth := func(context.Context) error { return srv.Healthy() }
	// The registry and the worker stop together: if either fails, up ends.
	upCtx, stopUp := context.WithCancel(ctx)
	defer stopUp()
	registryCtx, stopRegistry := context.WithCancel(upCtx)
	defer stopRegistry()
	registryDone := make(chan error, 1)
	go func() {
		err := serveRegistry(registryCtx, []string{addr.String()}, *registryAddr, registryTopic, "schema-registry", logger)
		if err != nil {
			stopUp()
		}
		registryDone <- err
	}()
	workerErr := serveWorkerChecked(upCtx, workerProps, nil, logger, levels, []func(context.Context) error{brokerHealth})
	stopRegistry()
	registryErr := <-registryDone
	stopBroker()
	return errors.Join(workerErr, registryErr, <-brokerDone)
}
