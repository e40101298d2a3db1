package debezium

import (
	"context"
	"encoding/json"
	"log/slog"
)

// SignalTarget is the connector's part of running a signal: the
// incremental snapshot's queries and the place of its reads, both at the
// position where the signal was, and the blocking snapshot.
type SignalTarget interface {
	Dialect
	Reads
	// BlockingSnapshot runs an execute-snapshot signal of type blocking:
	// the change stream waits while the tables are read.
	BlockingSnapshot(ctx context.Context, req SnapshotRequest, log *slog.Logger) error
	// Position returns log attributes naming where the signal was (a
	// Postgres lsn).
	Position() []any
}

// RunSignal runs one signal; what it emits goes to to. A signal that
// cannot be understood is logged on log and ignored, as Debezium ignores
// it.
func (inc *Incremental) RunSignal(ctx context.Context, sig Signal, to SignalTarget, log *slog.Logger) error {
	log = log.With("signal", sig.ID, "type", sig.Type)
	switch sig.Type {
	case SignalWindowOpen:
		inc.OpenWindow(sig.ID)
		return nil
	case SignalWindowClose:
		return inc.CloseWindow(ctx, sig.ID, to, to)
	case SignalLog:
		var data struct{ Message string }
		if err := json.Unmarshal([]byte(sig.Data), &data); err != nil || data.Message == "" {
			log.Warn("log signal without a message", "data", sig.Data)
			return nil
		}
		log.Info(data.Message, to.Position()...)
		return nil
	case SignalExecuteSnapshot, SignalStopSnapshot, SignalPauseSnapshot, SignalResumeSnapshot:
		return inc.snapshotSignal(ctx, sig, to, log)
	}
	log.Warn("signal of an unknown type ignored")
	return nil
}

// snapshotSignal runs the signals that drive ad-hoc snapshots.
func (inc *Incremental) snapshotSignal(ctx context.Context, sig Signal, to SignalTarget, log *slog.Logger) error {
	req, err := ParseSnapshotRequest(sig.Data)
	if err != nil {
		log.Warn("snapshot signal ignored: data is not a JSON object of the expected shape", "data", sig.Data, "error", err)
		return nil
	}
	kind, ok := req.Kind()
	if !ok {
		log.Warn("snapshot signal ignored: unknown snapshot type", "snapshot_type", req.Type)
		return nil
	}
	switch sig.Type {
	case SignalExecuteSnapshot:
		if len(req.DataCollections) == 0 {
			log.Warn("execute-snapshot signal ignored: data-collections is missing or empty", "data", sig.Data)
			return nil
		}
		if kind == SnapshotBlocking {
			return to.BlockingSnapshot(ctx, req, log)
		}
		if !inc.watermarks {
			log.Warn("execute-snapshot signal ignored: incremental snapshots write watermarks to the signalling table, and signal.data.collection is unset")
			return nil
		}
		return inc.Start(ctx, sig.ID, req, to, to, log)
	case SignalStopSnapshot:
		if kind == SnapshotBlocking {
			log.Warn("stop-snapshot signal ignored: a blocking snapshot cannot be stopped")
			return nil
		}
		return inc.Stop(ctx, req.DataCollections, to, log)
	case SignalPauseSnapshot:
		inc.Pause(log)
		return nil
	}
	return inc.Resume(ctx, to, to, log)
}
