package registry

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/internal/testenv"
)

// TestTwoInstancesAgree runs two registries on one topic: writes to
// either go through the elected primary, both serve the same ids, and
// when the primary stops the other takes over.
func TestTwoInstancesAgree(t *testing.T) {
	broker := testenv.StartBroker(t, nil)
	a, stopA := startStoppable(t, broker, "")
	b, stopB := startStoppable(t, broker, "")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	schemas := []string{userV1, userV2, userV3}
	for i, schema := range schemas {
		in := []*instance{a, b}[i%2]
		status, body := in.call(t, "POST", "/subjects/s/versions", schemaBody(schema))
		require.Equal(t, 200, status, body)
		assert.Equal(t, fmt.Sprintf(`{"id":%d}`, i+1), body)
	}
	primaryA, err := a.srv.elector.Load().current(ctx)
	require.NoError(t, err)
	primaryB, err := b.srv.elector.Load().current(ctx)
	require.NoError(t, err)
	assert.Equal(t, primaryA, primaryB)
	for _, in := range []*instance{a, b} {
		// An instance that did not make the last write serves reads from
		// its own copy of the topic, which may lag a moment (as
		// Confluent's followers do).
		require.Eventually(t, func() bool {
			_, body := in.call(t, "GET", "/schemas/ids/3/versions", nil)
			return body == `[{"subject":"s","version":3}]`
		}, 10*time.Second, 20*time.Millisecond)
		runSteps(t, in, []step{
			{"versions", "GET", "/subjects/s/versions", nil, 200, `[1,2,3]`, 0},
			{"id 3", "GET", "/schemas/ids/3/versions", nil, 200, `[{"subject":"s","version":3}]`, 0},
		})
	}

	survivor, stop := b, stopA
	if primaryA == b.url {
		survivor, stop = a, stopB
	}
	stop()
	require.Eventually(t, func() bool {
		p, err := survivor.srv.elector.Load().current(ctx)
		return err == nil && p == survivor.url
	}, 20*time.Second, 50*time.Millisecond)
	status, body := survivor.call(t, "POST", "/subjects/t/versions", schemaBody(`"string"`))
	require.Equal(t, 200, status, body)
	assert.Equal(t, `{"id":4}`, body)
}

// TestForwardedWriteKeepsEscapedSubject writes subjects holding "/" and
// "%" through both instances, so one write is forwarded to the primary:
// the forwarded request keeps the subject's escaping.
func TestForwardedWriteKeepsEscapedSubject(t *testing.T) {
	broker := testenv.StartBroker(t, nil)
	a, _ := startStoppable(t, broker, "")
	b, _ := startStoppable(t, broker, "")
	runSteps(t, a, []step{{"via a", "POST", "/subjects/a%2Fone.proto/versions", schemaBody(userV1), 200, `{"id":1}`, 0}})
	runSteps(t, b, []step{{"via b", "POST", "/subjects/b%2Ftwo%25/versions", schemaBody(userV1), 200, `{"id":1}`, 0}})
	for _, in := range []*instance{a, b} {
		require.Eventually(t, func() bool {
			_, body := in.call(t, "GET", "/subjects", nil)
			return body == `["a/one.proto","b/two%"]`
		}, 10*time.Second, 20*time.Millisecond)
	}
}
