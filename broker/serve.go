package broker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"

	"github.com/sluicehq/sluice/broker/log"
)

// Serve opens the data directory in cfg, recovers it, listens, and serves
// until ctx ends; then it stops accepting, waits for every connection to
// finish, flushes and closes the store cleanly. onListen, if not nil, is
// called with the bound address once the broker accepts connections.
func Serve(ctx context.Context, cfg Config, logger *slog.Logger, onListen func(net.Addr)) error {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	store, err := log.Open(log.Options{
		Dir:                    cfg.DataDir,
		Defaults:               cfg.TopicDefaults,
		Logger:                 logger,
		RetentionCheckInterval: cfg.RetentionCheckInterval,
		CheckpointInterval:     cfg.CheckpointInterval,
		CleanerBackoff:         cfg.CleanerBackoff,
	})
	if err != nil {
		return fmt.Errorf("open data directory %s: %w", cfg.DataDir, err)
	}
	srv, err := New(cfg, store, logger)
	if err != nil {
		store.Close()
		return err
	}
	addr, err := srv.Listen()
	if err != nil {
		store.Close()
		return err
	}
	if onListen != nil {
		onListen(addr)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		store.Run(ctx)
	}()
	wg.Add(1)
	go func() {
		defer wg.Done()
		srv.Groups().Run(ctx)
	}()
	wg.Add(1)
	go func() {
		defer wg.Done()
		srv.Txns().Run(ctx)
	}()
	serr := srv.Run(ctx)
	cancel()
	wg.Wait()
	cerr := store.Close()
	if cerr != nil {
		cerr = fmt.Errorf("close data directory: %w", cerr)
	}
	return errors.Join(serr, cerr)
}
