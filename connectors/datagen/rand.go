package datagen

// rng is SplitMix64: tiny, fast and good enough for mock data. A record's
// generator is seeded from (seed, task, seq) alone, so any record can be
// regenerated without replaying the ones before it.
type rng struct{ s uint64 }

const golden = 0x9e3779b97f4a7c15

func mix64(z uint64) uint64 {
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

// recordRNG returns the generator of one record.
func recordRNG(seed uint64, task, seq int64) rng {
	return rng{s: mix64(seed^mix64(uint64(task)+golden)) ^ mix64(uint64(seq)*golden+1)}
}

func (r *rng) next() uint64 {
	r.s += golden
	return mix64(r.s)
}

// intn returns a number in [0, n); n must be positive. The modulo bias is
// negligible for the small n used here.
func (r *rng) intn(n int64) int64 { return int64(r.next() % uint64(n)) }

// between returns a number in [lo, hi).
func (r *rng) between(lo, hi int64) int64 { return lo + r.intn(hi-lo) }

// float returns a number in [0, 1).
func (r *rng) float() float64 { return float64(r.next()>>11) / (1 << 53) }
