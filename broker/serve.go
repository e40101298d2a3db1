package broker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/sluicehq/sluice/broker/log"
)

// Serve opens the data directory in cfg, recovers it, listens, and serves
// until ctx ends; then it stops accepting, waits for every connection to
// finish, flushes and closes the store cleanly. onListen, if not nil, is
// called with the server once its listener is bound: srv.Addr() is the
// address, and srv.Healthy() says from then on whether it is accepting.
func Serve(ctx context.Context, cfg Config, logger *slog.Logger, onListen func(srv *Server)) error {
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
		MaxOpenFiles:           cfg.MaxOpenFiles,
	})
	if errors.Is(err, log.ErrDirLocked) {
		return err // names the directory already, in Kafka's words
	}
	if err != nil {
		return fmt.Errorf("open data directory %s: %w", cfg.DataDir, err)
	}
	srv, err := New(cfg, store, logger)
	if err != nil {
		store.Close()
		return err
	}
	if _, err := srv.Listen(); err != nil {
		store.Close()
		return err
	}
	if onListen != nil {
		onListen(srv)
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
