package broker_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/testenv"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// BenchmarkGroupJoin is the time for a 10-member group to become Stable:
// ten clients join a new group at once (the two-step join of v4+), sync
// (the leader with an assignment for everyone), and, like real clients,
// heartbeat (every 2ms here) and rejoin when told the group rebalances.
// The op ends when all ten have their assignment in the same generation.
//
//	go test ./broker -run '^$' -bench BenchmarkGroupJoin -benchtime 20x
func BenchmarkGroupJoin(b *testing.B) {
	br := testenv.StartBroker(b, nil)
	const members = 10
	cls := make([]*kgo.Client, members)
	for i := range cls {
		cl, err := kgo.NewClient(kgo.SeedBrokers(br.Addr))
		if err != nil {
			b.Fatal(err)
		}
		defer cl.Close()
		cls[i] = cl
	}
	meta := kmsg.NewConsumerMemberMetadata()
	meta.Topics = []string{"t"}
	metaBytes := meta.AppendTo(nil)
	b.ResetTimer()
	for i := range b.N {
		group := fmt.Sprintf("bench-%d", i)
		ctx, cancel := context.WithCancel(context.Background())
		synced := make(chan [2]int32, 100)
		var wg sync.WaitGroup
		for j, cl := range cls {
			wg.Add(1)
			go func() {
				defer wg.Done()
				benchMember(ctx, cl, group, metaBytes, int32(j), synced)
			}()
		}
		gens := map[int32]int32{}
		for len(gens) < members || !sameGeneration(gens) {
			select {
			case s := <-synced:
				gens[s[0]] = s[1]
			case <-time.After(30 * time.Second):
				b.Fatalf("group never became stable: %v", gens)
			}
		}
		cancel()
		wg.Wait()
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/stable")
}

func sameGeneration(gens map[int32]int32) bool {
	first := int32(-1)
	for _, g := range gens {
		if first != -1 && g != first {
			return false
		}
		first = g
	}
	return true
}

// benchMember joins and syncs, then heartbeats; it rejoins whenever the
// group rebalances, and reports (index, generation) after each sync.
func benchMember(ctx context.Context, cl *kgo.Client, group string, meta []byte, idx int32, synced chan<- [2]int32) {
	join := kmsg.NewPtrJoinGroupRequest()
	join.Group, join.SessionTimeoutMillis, join.RebalanceTimeoutMillis = group, 10000, 10000
	join.ProtocolType = "consumer"
	join.Protocols = []kmsg.JoinGroupRequestProtocol{{Name: "range", Metadata: meta}}
	for ctx.Err() == nil {
		jr, err := join.RequestWith(ctx, cl)
		if err != nil {
			return
		}
		join.MemberID = jr.MemberID
		if jr.ErrorCode != 0 {
			continue // MEMBER_ID_REQUIRED: join again with the id
		}
		sync := kmsg.NewPtrSyncGroupRequest()
		sync.Group, sync.Generation, sync.MemberID = group, jr.Generation, jr.MemberID
		sync.ProtocolType, sync.Protocol = jr.ProtocolType, jr.Protocol
		for _, m := range jr.Members {
			sync.GroupAssignment = append(sync.GroupAssignment, kmsg.SyncGroupRequestGroupAssignment{MemberID: m.MemberID, MemberAssignment: []byte{0}})
		}
		sr, err := sync.RequestWith(ctx, cl)
		if err != nil {
			return
		}
		if sr.ErrorCode != 0 {
			continue
		}
		select {
		case synced <- [2]int32{idx, jr.Generation}:
		case <-ctx.Done():
			return
		}
		hb := kmsg.NewPtrHeartbeatRequest()
		hb.Group, hb.Generation, hb.MemberID = group, jr.Generation, jr.MemberID
		for ctx.Err() == nil {
			hr, err := hb.RequestWith(ctx, cl)
			if err != nil {
				return
			}
			if hr.ErrorCode != 0 {
				break
			}
			time.Sleep(2 * time.Millisecond)
		}
	}
}

// BenchmarkOffsetCommit is OffsetCommit throughput: each op is one commit of
// one partition, durable (fsynced) before the answer. "serial" is one
// client committing in a loop; "parallel" is 8 clients at once, whose
// fsyncs are shared.
//
//	go test ./broker -run '^$' -bench BenchmarkOffsetCommit -benchtime 2s
func BenchmarkOffsetCommit(b *testing.B) {
	br := testenv.StartBroker(b, nil)
	admin, err := kgo.NewClient(kgo.SeedBrokers(br.Addr))
	if err != nil {
		b.Fatal(err)
	}
	defer admin.Close()
	create := kmsg.NewPtrCreateTopicsRequest()
	ct := kmsg.NewCreateTopicsRequestTopic()
	ct.Topic, ct.NumPartitions, ct.ReplicationFactor = "committed", 8, 1
	create.Topics = append(create.Topics, ct)
	if _, err := create.RequestWith(context.Background(), admin); err != nil {
		b.Fatal(err)
	}
	commit := func(cl *kgo.Client, group string, off int64) error {
		req := kmsg.NewPtrOffsetCommitRequest()
		req.Group, req.Generation = group, -1
		req.Topics = []kmsg.OffsetCommitRequestTopic{{Topic: "committed", Partitions: []kmsg.OffsetCommitRequestTopicPartition{{Partition: int32(off % 8), Offset: off, LeaderEpoch: -1}}}}
		resp, err := req.RequestWith(context.Background(), cl)
		if err != nil {
			return err
		}
		return kerr.ErrorForCode(resp.Topics[0].Partitions[0].ErrorCode)
	}
	b.Run("serial", func(b *testing.B) {
		for i := range b.N {
			if err := commit(admin, "serial", int64(i)); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "commits/s")
	})
	b.Run("parallel", func(b *testing.B) {
		var mu sync.Mutex
		n := 0
		b.SetParallelism(8)
		begin := time.Now()
		b.RunParallel(func(pb *testing.PB) {
			cl, err := kgo.NewClient(kgo.SeedBrokers(br.Addr))
			if err != nil {
				b.Error(err)
				return
			}
			defer cl.Close()
			mu.Lock()
			n++
			group := fmt.Sprintf("parallel-%d", n)
			mu.Unlock()
			for i := int64(0); pb.Next(); i++ {
				if err := commit(cl, group, i); err != nil {
					b.Error(err)
					return
				}
			}
		})
		b.ReportMetric(float64(b.N)/time.Since(begin).Seconds(), "commits/s")
	})
}
