package schemaconv

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"

	"github.com/sluicehq/sluice/runtime/connect"
)

var updateProtoInputs = flag.Bool("update-protobuf-inputs", false,
	"rewrite testdata/protobuf/*.input.json; then regenerate the goldens with testdata/protobuf/generate.mjs")

// protoGoldenCase is one message whose wire bytes are checked against
// what Confluent's own serializer (@confluentinc/schemaregistry) writes
// for the same message: the .input.json file (descriptor and the message
// as proto3 JSON, written by hand below) is what generate.mjs serializes
// into the .golden.hex file.
type protoGoldenCase struct {
	name   string
	text   string // the schema; "" derives it from schema
	schema *connect.Schema
	value  func(s *connect.Schema) any
	json   string // the same message in proto3 JSON
}

var recordSchema = connect.StructBuilder().Name("x.R").Field("a", connect.Int32Schema).Field("b", connect.OptionalStringSchema).Build()

func protoGoldenCases() []protoGoldenCase {
	every := func(*connect.Schema) any {
		v := protoEveryValue()
		// One entry per map: serializers write entries in iteration order.
		v.MustPut("smap", map[string]any{"x": "1"})
		v.MustPut("imap", map[any]any{int32(1): connect.NewStruct(innerSchema).MustPut("n", int32(5)).MustPut("s", "five")})
		return v
	}
	return []protoGoldenCase{
		{name: "record", schema: recordSchema,
			value: func(s *connect.Schema) any {
				return connect.NewStruct(s).MustPut("a", int32(-2)).MustPut("b", "hi")
			},
			json: `{"a": -2, "b": "hi"}`},
		{name: "every_type", schema: protoEveryType, value: every,
			json: `{"i8": -8, "i16": 1600, "i32": -320000, "i64": "1099511627776", "f32": 1.5, "f64": 2.25,
			"b": true, "s": "héllo", "bytes": "AAH/", "dec": {"value": "z8c=", "precision": 5, "scale": 2},
			"date": {"year": 2024, "month": 6, "day": 10}, "time": {"hours": 12, "nanos": 5000000},
			"ts": "1915-07-24T17:46:39.877Z", "status": "INACTIVE", "voucher": 77,
			"arr": [{"n": 1, "s": "a"}, {"n": 2}], "ints": [-1, 0, 300],
			"smap": [{"key": "x", "value": "1"}], "imap": [{"key": 1, "value": {"n": 5, "s": "five"}}],
			"nested": {"n": 3, "s": "c"}, "optnested": {"x": 0.5}}`},
		{name: "second_message", text: foreignProto,
			value: func(s *connect.Schema) any {
				st := connect.NewStruct(s)
				st.MustPut("payment_0", connect.NewStruct(s.Field("payment_0").Schema).MustPut("card", "4111"))
				st.MustPut("id", int64(-7)).MustPut("status", "PAID").MustPut("counts", map[string]any{"k": int32(-1)})
				st.MustPut("note", "").MustPut("u32", int64(4000000000)).MustPut("s64", int64(-5)).MustPut("f64", int64(9))
				nick := s.Field("nick").Schema
				st.MustPut("nick", connect.NewStruct(nick).MustPut("value", "bob"))
				st.MustPut("nums", []any{int64(1), int64(-1)})
				return st
			},
			json: `{"id": "-7", "card": "4111", "status": "PAID", "counts": {"k": -1}, "note": "",
			"u32": 4000000000, "s64": "-5", "f64": "9", "nick": "bob", "nums": ["1", "-1"]}`},
		{name: "string_value", schema: connect.StringSchema,
			value: func(*connect.Schema) any { return "héllo" },
			json:  `"héllo"`},
	}
}

type protoGoldenInput struct {
	Type       string          `json:"type"`
	Descriptor string          `json:"descriptor"` // base64 FileDescriptorProto
	JSON       json.RawMessage `json:"json"`
}

func TestProtobufWireGolden(t *testing.T) {
	dir := filepath.Join("testdata", "protobuf")
	for _, c := range protoGoldenCases() {
		t.Run(c.name, func(t *testing.T) {
			text := c.text
			if text == "" {
				var err error
				text, err = defaultProtobufFormat.fromConnect(c.schema)
				require.NoError(t, err)
			}
			cd, err := defaultProtobufFormat.parse(text)
			require.NoError(t, err)
			pc := cd.(*protoCodec)
			s := c.schema
			if s == nil { // the file's second message, as read
				s, err = pc.messageSchema(pc.file.Messages().Get(1))
				require.NoError(t, err)
			}
			v := c.value(s)
			name := s.Name
			if s.Type != connect.TypeStruct {
				name, err = rootWrapper(s)
				require.NoError(t, err)
			}
			md := pc.root(name)

			var js any
			require.NoError(t, json.Unmarshal([]byte(c.json), &js), "case json")
			compact, err := json.Marshal(js)
			require.NoError(t, err)
			fdp, err := proto.Marshal(protodesc.ToFileDescriptorProto(pc.file))
			require.NoError(t, err)
			in, err := json.MarshalIndent(protoGoldenInput{Type: string(md.FullName()),
				Descriptor: base64.StdEncoding.EncodeToString(fdp), JSON: compact}, "", "  ")
			require.NoError(t, err)
			inPath := filepath.Join(dir, c.name+".input.json")
			if *updateProtoInputs {
				require.NoError(t, os.WriteFile(inPath, append(in, '\n'), 0o644))
			}
			stored, err := os.ReadFile(inPath)
			require.NoError(t, err)
			require.Equal(t, string(in)+"\n", string(stored), "inputs changed: run with -update-protobuf-inputs, then generate.mjs")

			golden, err := os.ReadFile(filepath.Join(dir, c.name+".golden.hex"))
			require.NoError(t, err, "generate the goldens with testdata/protobuf/generate.mjs")
			want, err := hex.DecodeString(strings.TrimSpace(string(golden)))
			require.NoError(t, err)

			got, err := cd.encode([]byte{0, 0, 0, 0, 1}, s, v)
			require.NoError(t, err)
			assert.Equal(t, hex.EncodeToString(want), hex.EncodeToString(got))

			// And Confluent's bytes read back as the value written.
			_, back, err := pc.decodeWithSchema(want[headerLen:])
			require.NoError(t, err)
			assert.Equal(t, plain(readable(v)), plain(readable(back)))
		})
	}
}

// readable drops what a Protobuf reader cannot tell from a zero value
// (an unset optional scalar reads as its zero, an unset repeated field as
// an empty ARRAY).
func readable(v any) any {
	st, ok := v.(*connect.Struct)
	if !ok {
		return v
	}
	out := map[string]any{}
	for _, f := range st.Schema().Fields {
		fv := st.GetWithoutDefault(f.Name)
		if xs, ok := fv.([]any); fv == nil || fv == int64(0) || fv == "" || ok && len(xs) == 0 {
			continue
		}
		if f.Name == "payment" || strings.HasPrefix(f.Name, "payment_") {
			out["payment"] = plain(fv)
			continue
		}
		if t, ok := fv.(time.Time); ok {
			fv = t.UnixMilli()
		}
		out[f.Name] = plain(fv)
	}
	return out
}
