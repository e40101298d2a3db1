package s3

import (
	"bytes"
	"compress/bzip2"
	"errors"
	"fmt"
	"io"

	"github.com/hamba/avro/v2"
	"github.com/hamba/avro/v2/ocf"

	"github.com/sluicehq/sluice/runtime/connect"
	"github.com/sluicehq/sluice/runtime/convert/schemaconv"
)

// avroFileReader streams an Avro object container file: the header, then
// one block at a time (count, size, the codec's bytes, the sync marker),
// each decoded into Connect values as the AvroConverter would. Only one
// block, at most record.max.bytes, is in memory.
type avroFileReader struct {
	key      string
	body     io.Closer
	r        *avro.Reader
	dec      *schemaconv.AvroDecoder
	codec    string
	sync     [16]byte
	maxBlock int
	block    *avro.Reader
	left     int64 // records left in block
}

var avroMagic = [4]byte{'O', 'b', 'j', 1}

func newAvroFileReader(body io.ReadCloser, key string, maxBlock int) (*avroFileReader, error) {
	r := avro.NewReader(body, 64<<10)
	var h ocf.Header
	r.ReadVal(ocf.HeaderSchema, &h)
	if r.Error != nil {
		body.Close()
		return nil, fmt.Errorf("object %s: read the Avro container header: %w", key, r.Error)
	}
	if h.Magic != avroMagic {
		body.Close()
		return nil, fmt.Errorf("object %s is not an Avro object container file (magic %q)", key, h.Magic[:])
	}
	as, err := avro.ParseWithCache(string(h.Meta["avro.schema"]), "", &avro.SchemaCache{})
	if err != nil {
		body.Close()
		return nil, fmt.Errorf("object %s: its Avro schema: %w", key, err)
	}
	dec, err := schemaconv.NewAvroDecoder(as)
	if err != nil {
		body.Close()
		return nil, fmt.Errorf("object %s: %w", key, err)
	}
	codec := string(h.Meta["avro.codec"])
	switch codec {
	case "", "null", "deflate", "snappy", "bzip2":
	default:
		body.Close()
		return nil, fmt.Errorf("object %s: Avro codec %q is not one the S3 sink writes (null, deflate, snappy, bzip2)", key, codec)
	}
	return &avroFileReader{key: key, body: body, r: r, dec: dec, codec: codec, sync: h.Sync, maxBlock: maxBlock}, nil
}

func (a *avroFileReader) next() (*connect.Schema, any, error) {
	for a.left == 0 {
		if err := a.readBlock(); err != nil {
			return nil, nil, err
		}
	}
	a.left--
	v, err := a.dec.Decode(a.block)
	if err != nil {
		return nil, nil, fmt.Errorf("object %s: decode an Avro record: %w", a.key, err)
	}
	return a.dec.ConnectSchema(), v, nil
}

// readBlock reads the next block into a.block; io.EOF after the last.
func (a *avroFileReader) readBlock() error {
	_ = a.r.Peek()
	if errors.Is(a.r.Error, io.EOF) {
		return io.EOF
	}
	count, size := a.r.ReadLong(), a.r.ReadLong()
	if a.r.Error != nil {
		return fmt.Errorf("object %s: read an Avro block header: %w", a.key, a.r.Error)
	}
	if count < 0 || size < 0 || size > int64(a.maxBlock) {
		return fmt.Errorf("object %s: an Avro block of %d records and %d bytes (more than %s=%d, or corrupt)", a.key, count, size, RecordMaxBytesConfig, a.maxBlock)
	}
	data := make([]byte, size)
	a.r.Read(data)
	var sync [16]byte
	a.r.Read(sync[:])
	if a.r.Error != nil {
		return fmt.Errorf("object %s: read an Avro block: %w", a.key, a.r.Error)
	}
	if sync != a.sync {
		return fmt.Errorf("object %s: an Avro block ends without the file's sync marker (corrupt)", a.key)
	}
	data, err := a.decompress(data)
	if err != nil {
		return fmt.Errorf("object %s: decompress an Avro block (%s): %w", a.key, a.codec, err)
	}
	a.block, a.left = schemaconv.NewAvroReader(data), count
	return nil
}

func (a *avroFileReader) decompress(data []byte) ([]byte, error) {
	switch a.codec {
	case "deflate":
		return (&ocf.DeflateCodec{}).Decode(data)
	case "snappy":
		return (&ocf.SnappyCodec{}).Decode(data)
	case "bzip2":
		return io.ReadAll(io.LimitReader(bzip2.NewReader(bytes.NewReader(data)), int64(a.maxBlock)+1))
	}
	return data, nil
}

func (a *avroFileReader) pos() int64 { return -1 }

func (a *avroFileReader) close() error { return a.body.Close() }
