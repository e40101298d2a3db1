package kfakeserver

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

func TestStartKfakeAutoCreatesTopicsWithTheGivenPartitions(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	addr, stop, err := StartKfake(3)
	require.NoError(t, err)
	defer stop()
	assert.Regexp(t, `^127\.0\.0\.1:[1-9][0-9]*$`, addr)

	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.AllowAutoTopicCreation())
	require.NoError(t, err)
	defer cl.Close()
	require.NoError(t, cl.ProduceSync(ctx, &kgo.Record{Topic: "auto", Value: []byte("v")}).FirstErr())
	details, err := kadm.NewClient(cl).ListTopics(ctx, "auto")
	require.NoError(t, err)
	assert.Len(t, details["auto"].Partitions, 3)

	stop()
	stop() // idempotent
}

func TestNewRejectsNoPartitions(t *testing.T) {
	_, err := New("127.0.0.1:0", 0)
	assert.EqualError(t, err, "start kfake on 127.0.0.1:0: partitions 0: want more than 0")
}

func TestNewReportsABusyAddress(t *testing.T) {
	addr, stop, err := StartKfake(1)
	require.NoError(t, err)
	defer stop()
	_, err = New(addr, 1)
	assert.ErrorContains(t, err, "start kfake on "+addr+": ")
}
