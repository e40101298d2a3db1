package bench

import (
	"slices"
	"time"
)

// percentiles sorts lat in place and returns p50, p99, p99.9 and max, using
// the nearest-rank method. All are zero for an empty slice.
func percentiles(lat []time.Duration) (p50, p99, p999, maxLat time.Duration) {
	if len(lat) == 0 {
		return 0, 0, 0, 0
	}
	slices.Sort(lat)
	return rank(lat, 5000), rank(lat, 9900), rank(lat, 9990), lat[len(lat)-1]
}

// rank returns the smallest value with at least perTenThousand/10000 of
// sorted at or below it. Integer arithmetic keeps p99 of 100 values at the
// 99th, where float rounding would pick the 100th.
func rank(sorted []time.Duration, perTenThousand int) time.Duration {
	n := len(sorted)
	i := (n*perTenThousand+9999)/10000 - 1
	return sorted[min(max(i, 0), n-1)]
}
