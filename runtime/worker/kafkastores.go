package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/runtime/storage"
)

// KafkaStores are a worker's config, offset and status stores on the three
// internal topics, created at start if missing.
type KafkaStores struct {
	Configs *storage.ConfigStore
	Offsets *storage.KafkaOffsetStore
	Status  *storage.StatusStore

	logger *slog.Logger
	topics [3]string // config, offset and status topic, for the start-up line

	mu       sync.Mutex
	onUpdate func(storage.ConfigUpdate)
}

// NewKafkaStores prepares the stores from the worker config; Start
// creates the topics and reads them, Run follows them.
func NewKafkaStores(cfg Config, clientOpts []kgo.Opt, logger *slog.Logger) (*KafkaStores, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	ks := &KafkaStores{logger: logger, topics: [3]string{cfg.ConfigTopic, cfg.OffsetTopic, cfg.StatusTopic}}
	topic := func(name string, partitions int32, rf int16) storage.TopicOptions {
		return storage.TopicOptions{Topic: name, Partitions: partitions, ReplicationFactor: rf, ClientOpts: clientOpts, Logger: logger}
	}
	var err error
	ks.Configs, err = storage.NewConfigStore(storage.ConfigStoreOptions{
		TopicOptions: topic(cfg.ConfigTopic, 1, cfg.ConfigRF),
		OnUpdate: func(u storage.ConfigUpdate) {
			ks.mu.Lock()
			f := ks.onUpdate
			ks.mu.Unlock()
			if f != nil {
				f(u)
			}
		},
	})
	if err != nil {
		return nil, err
	}
	if ks.Offsets, err = storage.NewKafkaOffsetStore(topic(cfg.OffsetTopic, cfg.OffsetPartitions, cfg.OffsetRF)); err != nil {
		return nil, err
	}
	if ks.Status, err = storage.NewStatusStore(storage.StatusStoreOptions{TopicOptions: topic(cfg.StatusTopic, cfg.StatusPartitions, cfg.StatusRF)}); err != nil {
		return nil, err
	}
	return ks, nil
}

// Start creates the topics if needed and reads them to the end.
func (ks *KafkaStores) Start(ctx context.Context) error {
	if err := ks.Configs.Start(ctx); err != nil {
		return fmt.Errorf("config store: %w", err)
	}
	if err := ks.Offsets.Start(ctx); err != nil {
		return fmt.Errorf("offset store: %w", err)
	}
	if err := ks.Status.Start(ctx); err != nil {
		return fmt.Errorf("status store: %w", err)
	}
	ks.logger.Info("worker stores read", "config_topic", ks.topics[0], "offset_topic", ks.topics[1], "status_topic", ks.topics[2])
	return nil
}

// Run follows the three topics until ctx ends, then flushes pending status
// writes and closes the stores.
func (ks *KafkaStores) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	errs := make([]error, 3)
	for i, run := range []func(context.Context) error{ks.Configs.Run, ks.Offsets.Run, ks.Status.Run} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := run(ctx); err != nil && ctx.Err() == nil {
				errs[i] = err
			}
		}()
	}
	wg.Wait()
	flushCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	errs = append(errs, ks.Status.Flush(flushCtx), ks.Configs.Close(), ks.Offsets.Close(), ks.Status.Close())
	return errors.Join(errs...)
}

// WriteHealth is a health check: nil while the last write to each internal
// topic succeeded, else why each failing topic's last write failed (a
// config write the broker refused, KAFKA_STORAGE_ERROR on a full disk). A
// topic is healthy again once a write to it succeeds. It only reads what
// the stores recorded, so it answers at once.
func (ks *KafkaStores) WriteHealth(context.Context) error {
	var msgs []string
	for _, err := range []error{ks.Configs.WriteError(), ks.Offsets.WriteError(), ks.Status.WriteError()} {
		if err != nil {
			msgs = append(msgs, err.Error())
		}
	}
	if len(msgs) == 0 {
		return nil
	}
	return errors.New(strings.Join(msgs, "; "))
}

// Bind returns the herder options' stores and routes config updates
// written by other workers to the herder.
func (ks *KafkaStores) Bind(opts *Options) {
	opts.Configs = kafkaConfigs{ks.Configs}
	opts.Offsets = ks.Offsets
	opts.Status = kafkaStatus{ks.Status}
}

// Watch routes config updates read from the topic to the herder.
func (ks *KafkaStores) Watch(h *Herder) {
	ks.mu.Lock()
	defer ks.mu.Unlock()
	ks.onUpdate = h.configUpdated
}

// kafkaConfigs adapts storage.ConfigStore to ConfigStore.
type kafkaConfigs struct{ s *storage.ConfigStore }

func (k kafkaConfigs) Snapshot() ConfigSnapshot {
	snap := k.s.Snapshot()
	out := ConfigSnapshot{Offset: snap.Offset, Connectors: snap.Connectors, Tasks: snap.Tasks, Targets: make(map[string]TargetState, len(snap.TargetStates))}
	for n, t := range snap.TargetStates {
		out.Targets[n] = TargetState(t)
	}
	return out
}

func (k kafkaConfigs) PutConnectorConfig(ctx context.Context, name string, props map[string]string, target TargetState) error {
	var t *storage.TargetState
	if target != "" {
		st := storage.TargetState(target)
		t = &st
	}
	return k.s.PutConnectorConfig(ctx, name, props, t)
}

func (k kafkaConfigs) Refresh(ctx context.Context) error { return k.s.Refresh(ctx) }

func (k kafkaConfigs) RemoveConnector(ctx context.Context, name string) error {
	return k.s.RemoveConnector(ctx, name)
}

func (k kafkaConfigs) PutTaskConfigs(ctx context.Context, name string, tasks []map[string]string) error {
	return k.s.PutTaskConfigs(ctx, name, tasks)
}

func (k kafkaConfigs) PutRestartRequest(ctx context.Context, name string, includeTasks, onlyFailed bool) error {
	return k.s.PutRestartRequest(ctx, name, includeTasks, onlyFailed)
}

func (k kafkaConfigs) PutTargetState(ctx context.Context, name string, state TargetState) error {
	return k.s.PutTargetState(ctx, name, storage.TargetState(state))
}

// kafkaStatus adapts storage.StatusStore to StatusStore.
type kafkaStatus struct{ s *storage.StatusStore }

func toStorage(st Status) storage.Status {
	return storage.Status{State: string(st.State), Trace: st.Trace, WorkerID: st.WorkerID, Generation: st.Generation}
}

func fromStorage(st storage.Status) Status {
	return Status{State: State(st.State), Trace: st.Trace, WorkerID: st.WorkerID, Generation: st.Generation}
}

func (k kafkaStatus) PutConnector(name string, st Status) { k.s.PutConnector(name, toStorage(st)) }

func (k kafkaStatus) PutTask(id ConnectorTaskID, st Status) {
	k.s.PutTask(id.Connector, id.Task, toStorage(st))
}

func (k kafkaStatus) Connector(name string) (Status, bool) {
	st, ok := k.s.Connector(name)
	return fromStorage(st), ok
}

func (k kafkaStatus) Task(id ConnectorTaskID) (Status, bool) {
	st, ok := k.s.Task(id.Connector, id.Task)
	return fromStorage(st), ok
}

func (k kafkaStatus) DeleteConnector(name string) { k.s.DeleteConnector(name) }

func (k kafkaStatus) PutTopic(connector, topic string, task int) {
	k.s.PutTopic(connector, topic, task)
}

func (k kafkaStatus) Topics(connector string) []string { return k.s.Topics(connector) }

func (k kafkaStatus) ResetTopics(connector string) { k.s.ResetTopics(connector) }
