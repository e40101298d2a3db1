package worker

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestDeliveryTimeout: Kafka's default, the worker's producer setting,
// and the connector's override, which wins.
func TestDeliveryTimeout(t *testing.T) {
	cases := []struct {
		worker, conn map[string]string
		want         time.Duration
		err          string
	}{
		{want: 120 * time.Second},
		{worker: map[string]string{"producer.delivery.timeout.ms": "30000"}, want: 30 * time.Second},
		{worker: map[string]string{"producer.delivery.timeout.ms": "30000"}, conn: map[string]string{"producer.override.delivery.timeout.ms": "5000"}, want: 5 * time.Second},
		{conn: map[string]string{"producer.override.delivery.timeout.ms": " "}, want: 120 * time.Second},
		{conn: map[string]string{"producer.override.delivery.timeout.ms": "0"}, err: `producer.override.delivery.timeout.ms="0": want a positive number of milliseconds`},
		{worker: map[string]string{"producer.delivery.timeout.ms": "soon"}, err: `producer.delivery.timeout.ms="soon"`},
	}
	for _, c := range cases {
		got, err := deliveryTimeout(c.worker, c.conn)
		if c.err != "" {
			require.ErrorContains(t, err, c.err)
			continue
		}
		require.NoError(t, err)
		assert.Equal(t, c.want, got)
	}
}
