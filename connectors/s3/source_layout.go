package s3

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// The sink's object layout, read backwards:
//
//	<topics.dir>/<topic>/<encoded partition…>/<topic>+<partition>+<start offset>[.keys|.headers]<ext>
//
// The encoded partition may be several folders deep (field and time-based
// partitioners), so the folders are not read: the file name alone says
// where the records go and in which order.

// fileKind tells a value object from its key and header sidecars.
type fileKind int

const (
	valueFile fileKind = iota
	keysFile
	headersFile
)

// backupFile is one object of the sink's layout.
type backupFile struct {
	key       string
	kind      fileKind
	topic     string
	partition int32
	start     int64
	// base is the key without the extension (and .keys/.headers): the
	// sidecars of a value file are base + ".keys" + their extension.
	base string
}

// parquetCodecExts are the extensions parquet-mr's CompressionCodecName
// puts before .parquet, for every codec (the sink writes some of them).
var parquetCodecExts = []string{"snappy", "gz", "lzo", "br", "lz4", "zstd", "lz4raw"}

// trimExt returns name without f's extension (and, for Parquet, the codec
// before it), or false when name does not end with it.
func trimExt(name string, f backupFormat) (string, bool) {
	base, ok := strings.CutSuffix(name, f.ext)
	if !ok {
		return "", false
	}
	if f.class == ParquetFormatClass {
		for _, c := range parquetCodecExts {
			if b, ok := strings.CutSuffix(base, "."+c); ok {
				return b, true
			}
		}
	}
	return base, true
}

// parseBackupKey reads an object key of the layout. ok is false for a key
// outside topics.dir or whose extension matches none of the formats,
// which the source ignores; a key in the layout whose name does not parse
// is an error naming it.
func (s *sourceSettings) parseBackupKey(key string) (f backupFile, ok bool, err error) {
	rest, ok := strings.CutPrefix(key, s.topicsPrefix())
	if !ok {
		return f, false, nil
	}
	f.key = key
	// The sidecars first: with the same format as the values, a sidecar
	// also ends with the value extension.
	if b, ok := trimExt(rest, s.keys); ok && strings.HasSuffix(b, ".keys") {
		f.kind, rest = keysFile, strings.TrimSuffix(b, ".keys")
	} else if b, ok := trimExt(rest, s.heads); ok && strings.HasSuffix(b, ".headers") {
		f.kind, rest = headersFile, strings.TrimSuffix(b, ".headers")
	} else if b, ok := trimExt(rest, s.value); ok {
		f.kind, rest = valueFile, b
	} else {
		return f, false, nil
	}
	f.base = s.topicsPrefix() + rest
	name := rest
	if i := strings.LastIndex(rest, s.dirDelim); i >= 0 {
		name = rest[i+len(s.dirDelim):]
	}
	topic, partition, start, perr := s.parseFileName(name)
	if perr != nil {
		return f, false, fmt.Errorf("object %s under %s=%s does not parse as <topic>%s<partition>%s<start offset>%s: %w",
			key, TopicsDirConfig, s.topicsDir, s.fileDelim, s.fileDelim, s.value.ext, perr)
	}
	f.topic, f.partition, f.start = topic, partition, start
	return f, true, nil
}

// parseFileName splits <topic>+<partition>+<start offset>, from the right
// since a topic name may hold the delimiter.
func (s *sourceSettings) parseFileName(name string) (topic string, partition int32, start int64, err error) {
	i := strings.LastIndex(name, s.fileDelim)
	if i < 0 {
		return "", 0, 0, fmt.Errorf("no %q in the file name", s.fileDelim)
	}
	start, err = strconv.ParseInt(name[i+len(s.fileDelim):], 10, 64)
	if err != nil || start < 0 {
		return "", 0, 0, fmt.Errorf("start offset %q is not a non-negative number", name[i+len(s.fileDelim):])
	}
	rest := name[:i]
	j := strings.LastIndex(rest, s.fileDelim)
	if j <= 0 {
		return "", 0, 0, fmt.Errorf("no topic and partition before the start offset")
	}
	p, err := strconv.ParseInt(rest[j+len(s.fileDelim):], 10, 32)
	if err != nil || p < 0 {
		return "", 0, 0, fmt.Errorf("partition %q is not a non-negative number", rest[j+len(s.fileDelim):])
	}
	return rest[:j], int32(p), start, nil
}

// sidecarKey is the key of a value file's keys or headers sidecar.
func (s *sourceSettings) sidecarKey(f backupFile, kind fileKind) string {
	suffix, fm := ".keys", s.keys
	if kind == headersFile {
		suffix, fm = ".headers", s.heads
	}
	ext := fm.ext
	if fm.class == ParquetFormatClass {
		ext = s.parquetExt
		if s.value.class == ParquetFormatClass {
			// The sink names values and sidecars with its one
			// parquet.codec: the value's name says which.
			ext = strings.TrimPrefix(f.key, f.base)
		}
	}
	return f.base + suffix + ext
}

// listPageSize bounds one ListObjectsV2 page.
const listPageSize = 1000

// listKeys calls fn with every key under prefix after startAfter, in the
// store's (lexicographic) order, page by page: no page is larger than
// listPageSize keys, whatever the bucket holds.
func listKeys(ctx context.Context, c *s3.Client, bucket, prefix, startAfter string, fn func(key string) error) error {
	in := &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(prefix), MaxKeys: aws.Int32(listPageSize)}
	if startAfter != "" {
		in.StartAfter = aws.String(startAfter)
	}
	p := s3.NewListObjectsV2Paginator(c, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return &transientError{fmt.Errorf("list s3://%s/%s: %w", bucket, prefix, err)}
		}
		for _, o := range page.Contents {
			if err := fn(aws.ToString(o.Key)); err != nil {
				return err
			}
		}
	}
	return nil
}
