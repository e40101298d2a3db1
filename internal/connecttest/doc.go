// Package connecttest is the test kit for connectors: fake task contexts
// that hand a task its committed offsets as a real worker would, a
// harness that runs connectors through the real worker against an
// in-process broker, and the acceptance suite every connector passes.
//
// A unit test starts a task on a fake context:
//
//	ctx := connecttest.NewSourceContext(t, cfg)
//	require.NoError(t, task.Start(ctx, cfg))
//	recs, err := task.Poll(context.Background())
//	require.NoError(t, ctx.Commit(task, recs)) // as the worker after the broker's ack
//
// and a connector's acceptance_test.go runs the suite:
//
//	func TestAcceptance(t *testing.T) {
//		connecttest.Acceptance(t, connecttest.Spec{Plugin: myconn.Plugin, Config: …, Produce: …, ID: …})
//	}
package connecttest
