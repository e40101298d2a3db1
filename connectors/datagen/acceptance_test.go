package datagen

import (
	"fmt"
	"testing"

	"github.com/sluicehq/sluice/internal/connecttest"
)

func TestAcceptance(t *testing.T) {
	connecttest.Acceptance(t, connecttest.Spec{
		Plugin: Plugin,
		Config: func(*testing.T) map[string]string {
			return map[string]string{TopicConfig: "users", QuickstartConfig: "users", MaxIntervalConfig: "5", RandomSeedConfig: "7"}
		},
		Topic: func(cfg map[string]string) string { return cfg[TopicConfig] },
		// Every quickstart's value carries the record's seq.
		ID: func(v any) (int, error) {
			m, ok := v.(map[string]any)
			if !ok {
				return 0, fmt.Errorf("value %v is not an object", v)
			}
			seq, ok := m["seq"].(float64)
			if !ok {
				return 0, fmt.Errorf("value %v has no seq", v)
			}
			return int(seq), nil
		},
	})
}
