package datagen

import (
	"slices"
	"strconv"
	"time"

	"github.com/sluicehq/sluice/runtime/connect"
)

// quickstart is one shape of generated records.
type quickstart struct {
	name   string
	schema *connect.Schema
	// keyPrefix starts every key; a key index follows it.
	keyPrefix string
	// fill sets every field of v for the record described by rec, drawing
	// random values from r.
	fill func(g *generator, v *connect.Struct, r *rng, rec *recordInfo)
}

// recordInfo is what fill needs beyond randomness. seq is boxed once and
// shared by the value and the source offset.
type recordInfo struct {
	seq      int64
	seqValue any // seq as an interface value
	key      any
	now      time.Time
}

// Ranges of Confluent's quickstart schemas, kept so the data looks the same.
const (
	minTime = 1487715775521 // 2017-02-21
	maxTime = 1519273364600 // 2018-02-22
)

var (
	usersSchema = connect.StructBuilder().Name("ksql.users").
			Field("registertime", connect.Int64Schema).
			Field("userid", connect.StringSchema).
			Field("regionid", connect.StringSchema).
			Field("gender", connect.StringSchema).
			Field("seq", connect.Int64Schema).
			Build()
	pageviewsSchema = connect.StructBuilder().Name("ksql.pageviews").
			Field("viewtime", connect.Int64Schema).
			Field("userid", connect.StringSchema).
			Field("pageid", connect.StringSchema).
			Field("seq", connect.Int64Schema).
			Build()
	addressSchema = connect.StructBuilder().Name("ksql.address").
			Field("city", connect.StringSchema).
			Field("state", connect.StringSchema).
			Field("zipcode", connect.Int64Schema).
			Build()
	ordersSchema = connect.StructBuilder().Name("ksql.orders").
			Field("ordertime", connect.Int64Schema).
			Field("orderid", connect.Int32Schema).
			Field("itemid", connect.StringSchema).
			Field("orderunits", connect.Float64Schema).
			Field("address", addressSchema).
			Field("seq", connect.Int64Schema).
			Build()
	benchSchema = connect.StructBuilder().Name("io.sluice.datagen.Bench").
			Field("seq", connect.Int64Schema).
			Field("task", connect.Int32Schema).
			Field("ts", connect.TimestampSchema().Build()).
			Field("payload", connect.StringSchema).
			Build()
)

// Boxed values shared by every record, so setting them allocates nothing.
var (
	regions = boxedSeries("Region_", 9)
	pages   = boxedSeries("Page_", 99)
	cities  = boxedSeries("City_", 99)
	states  = boxedSeries("State_", 99)
	genders = []any{"MALE", "FEMALE", "OTHER"}
)

var quickstarts = []*quickstart{
	{name: "users", schema: usersSchema, keyPrefix: "User_", fill: fillUser},
	{name: "pageviews", schema: pageviewsSchema, keyPrefix: "User_", fill: fillPageview},
	{name: "orders", schema: ordersSchema, keyPrefix: "Item_", fill: fillOrder},
	{name: "bench", schema: benchSchema, keyPrefix: "key_", fill: fillBench},
}

func quickstartNames() []string {
	names := make([]string, len(quickstarts))
	for i, q := range quickstarts {
		names[i] = q.name
	}
	return names
}

func findQuickstart(name string) *quickstart {
	i := slices.IndexFunc(quickstarts, func(q *quickstart) bool { return q.name == name })
	if i < 0 {
		return nil
	}
	return quickstarts[i]
}

func fillUser(_ *generator, v *connect.Struct, r *rng, rec *recordInfo) {
	f := usersSchema.Fields
	v.Set(&f[0], r.between(minTime, maxTime))
	v.Set(&f[1], rec.key)
	v.Set(&f[2], regions[r.intn(int64(len(regions)))])
	v.Set(&f[3], genders[r.intn(int64(len(genders)))])
	v.Set(&f[4], rec.seqValue)
}

func fillPageview(_ *generator, v *connect.Struct, r *rng, rec *recordInfo) {
	f := pageviewsSchema.Fields
	v.Set(&f[0], 1+rec.seq*10) // Confluent's viewtime counts up from 1 by 10
	v.Set(&f[1], rec.key)
	v.Set(&f[2], pages[r.intn(int64(len(pages)))])
	v.Set(&f[3], rec.seqValue)
}

func fillOrder(_ *generator, v *connect.Struct, r *rng, rec *recordInfo) {
	f := ordersSchema.Fields
	addr := connect.NewStruct(addressSchema)
	af := addressSchema.Fields
	addr.Set(&af[0], cities[r.intn(int64(len(cities)))])
	addr.Set(&af[1], states[r.intn(int64(len(states)))])
	addr.Set(&af[2], r.between(10000, 100000))
	v.Set(&f[0], r.between(minTime, maxTime))
	v.Set(&f[1], int32(rec.seq))
	v.Set(&f[2], rec.key)
	v.Set(&f[3], 0.1+r.float()*9.9)
	v.Set(&f[4], addr)
	v.Set(&f[5], rec.seqValue)
}

func fillBench(g *generator, v *connect.Struct, r *rng, rec *recordInfo) {
	f := benchSchema.Fields
	v.Set(&f[0], rec.seqValue)
	v.Set(&f[1], g.taskBoxed)
	v.Set(&f[2], rec.now)
	v.Set(&f[3], g.payload(r))
}

// boxedSeries returns prefix1 ... prefixN as interface values.
func boxedSeries(prefix string, n int) []any {
	out := make([]any, n)
	for i := range out {
		out[i] = prefix + strconv.Itoa(i+1)
	}
	return out
}
