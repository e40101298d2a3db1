package transform

import (
	"github.com/sluicehq/sluice/runtime/connect"
)

// filter is org.apache.kafka.connect.transforms.Filter: it drops every
// record; pair it with a predicate to drop only some.
type filter struct{}

func (filter) Configure(map[string]string) error { return nil }

func (filter) Apply(*connect.Record) (*connect.Record, error) { return nil, nil }

// dropHeaders is org.apache.kafka.connect.transforms.DropHeaders.
type dropHeaders struct {
	names []string
}

var dropHeadersConfig = connect.ConfigDef{
	{Name: "headers", Type: connect.ConfigList, Default: connect.NoDefault, Validator: nonEmptyList,
		Importance: connect.High, Doc: "Names of the headers to remove."},
}

func (d *dropHeaders) Configure(props map[string]string) error {
	cfg, err := dropHeadersConfig.Parse(props)
	if err != nil {
		return err
	}
	d.names = cfg.List("headers")
	return nil
}

func (d *dropHeaders) Apply(r *connect.Record) (*connect.Record, error) {
	c := *r
	c.Headers = r.Headers.Without(d.names...)
	return &c, nil
}

// insertHeader is org.apache.kafka.connect.transforms.InsertHeader: it adds
// a header whose schema and value are inferred from a literal, as Kafka's
// Values.parseString infers them.
type insertHeader struct {
	name   string
	schema *connect.Schema
	value  any
}

var insertHeaderConfig = connect.ConfigDef{
	{Name: "header", Type: connect.ConfigString, Default: connect.NoDefault, Validator: nonEmptyString,
		Importance: connect.High, Doc: "Name of the header to add."},
	{Name: "value.literal", Type: connect.ConfigString, Default: connect.NoDefault, Validator: nonEmptyString,
		Importance: connect.High, Doc: "Literal value of the header added to every record."},
}

func (h *insertHeader) Configure(props map[string]string) error {
	cfg, err := insertHeaderConfig.Parse(props)
	if err != nil {
		return err
	}
	h.name = cfg.String("header")
	h.schema, h.value = parseLiteral(cfg.String("value.literal"))
	return nil
}

func (h *insertHeader) Apply(r *connect.Record) (*connect.Record, error) {
	c := *r
	c.Headers = make(connect.Headers, len(r.Headers), len(r.Headers)+1)
	copy(c.Headers, r.Headers)
	c.Headers = append(c.Headers, connect.Header{Key: h.name, Schema: h.schema, Value: h.value})
	return &c, nil
}
