package broker

import (
	"reflect"
	"runtime"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestDecodeAmplification checks decodeAmplification against kmsg: for every
// API and version served, a request whose top-level arrays hold many empty
// elements (the cheapest bytes to send for the most memory to decode) must
// decode within decodeAmplification bytes per byte of body.
func TestDecodeAmplification(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector changes allocation sizes")
	}
	const elems = 20_000
	for _, a := range newAPITable(serverAPIs()...) {
		for v := a.min; v <= a.max; v++ {
			req := kmsg.RequestForKey(a.key)
			req.SetVersion(v)
			fields := reflect.ValueOf(req).Elem()
			filled := false
			for i := range fields.NumField() {
				f := fields.Field(i)
				if f.Kind() == reflect.Slice && f.Type().Elem().Kind() != reflect.Uint8 && f.CanSet() {
					f.Set(reflect.MakeSlice(f.Type(), elems, elems))
					filled = true
				}
			}
			if !filled {
				continue
			}
			body := req.AppendTo(nil)
			dec := kmsg.RequestForKey(a.key)
			dec.SetVersion(v)
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			err := dec.ReadFrom(body)
			runtime.ReadMemStats(&after)
			if err != nil {
				continue // not a shape this version can carry
			}
			got := after.TotalAlloc - before.TotalAlloc
			if limit := uint64(decodeAmplification*len(body) + 4096); got > limit {
				t.Errorf("API key %d v%d: %d bytes decoded to %d, more than %d per byte", a.key, v, len(body), got, decodeAmplification)
			}
		}
	}
}
