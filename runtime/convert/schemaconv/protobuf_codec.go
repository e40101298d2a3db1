package schemaconv

import (
	"fmt"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/sluicehq/sluice/runtime/connect"
)

// The payload after the schema id is the message indexes, then the
// message in Protobuf binary:
//
//	+------------------------------+------------------------+
//	| message indexes              | Protobuf binary        |
//	| 0x00 for the file's first    |                        |
//	| message, else count and each |                        |
//	| index, zig-zag varints       |                        |
//	+------------------------------+------------------------+
//
// The indexes are the path from the file to the message: [1, 0] is the
// first message nested in the file's second.

// appendMessageIndexes appends md's path as Confluent's MessageIndexes.
func appendMessageIndexes(dst []byte, md protoreflect.MessageDescriptor) []byte {
	var path []int
	for d := protoreflect.Descriptor(md); ; d = d.Parent() {
		m, ok := d.(protoreflect.MessageDescriptor)
		if !ok {
			break
		}
		path = append(path, m.Index())
	}
	if len(path) == 1 && path[0] == 0 {
		return append(dst, 0)
	}
	dst = protowire.AppendVarint(dst, protowire.EncodeZigZag(int64(len(path))))
	for i := len(path) - 1; i >= 0; i-- {
		dst = protowire.AppendVarint(dst, protowire.EncodeZigZag(int64(path[i])))
	}
	return dst
}

// messageAt reads the message indexes at the start of data and returns
// the message they name and the bytes after them.
func (c *protoCodec) messageAt(data []byte) (protoreflect.MessageDescriptor, []byte, error) {
	next := func() (int, error) {
		v, n := protowire.ConsumeVarint(data)
		if n < 0 {
			return 0, fmt.Errorf("read message indexes: %w", protowire.ParseError(n))
		}
		data = data[n:]
		return int(protowire.DecodeZigZag(v)), nil
	}
	count, err := next()
	if err != nil {
		return nil, nil, err
	}
	path := []int{0}
	if count != 0 {
		if count < 0 || count > len(data) {
			return nil, nil, fmt.Errorf("read message indexes: bad count %d", count)
		}
		path = make([]int, count)
		for i := range path {
			if path[i], err = next(); err != nil {
				return nil, nil, err
			}
		}
	}
	ms := c.file.Messages()
	var md protoreflect.MessageDescriptor
	for _, i := range path {
		if i < 0 || i >= ms.Len() {
			return nil, nil, fmt.Errorf("message indexes %v name no message of the schema", path)
		}
		md = ms.Get(i)
		ms = md.Messages()
	}
	return md, data, nil
}

func (c *protoCodec) decode(data []byte) (any, error) {
	_, v, err := c.decodeWithSchema(data)
	return v, err
}

func (c *protoCodec) decodeWithSchema(data []byte) (*connect.Schema, any, error) {
	md, data, err := c.messageAt(data)
	if err != nil {
		return nil, nil, err
	}
	s, err := c.messageSchema(md)
	if err != nil {
		return nil, nil, err
	}
	if s.Type != connect.TypeStruct { // a wrapper read as its primitive
		v, err := c.message(s, md, data)
		return s, v, err
	}
	v, err := c.readStruct(s, md, data)
	return s, v, err
}
