package s3

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/sluicehq/sluice/runtime/connect"
)

// Restore mode: one stream per Kafka partition of the backup. A stream
// reads its value files in start-offset order (whatever folders the
// partitioner spread them over), and each file's records in order, with
// the key and header of record i from line i of the sidecars. Records go
// to the topic and partition of the file name (the worker's producer
// honours a source record's partition when the topic has it).
//
// What cannot come back: Confluent's sink stores no record timestamp, so
// a restored record has none (the producer stamps it), unless the sink
// had Sluice's store.kafka.timestamps, whose last header TimestampHeader
// becomes the record timestamp again (and is dropped); header values come
// back as the strings the sink rendered (Values.convertToString); and when
// a field or time partitioner interleaved one partition's records over
// several open files, the records come back file by file, since a file's
// name holds only its first offset.
//
// Source partition and offset:
//
//	{"folder": "<topics.dir>/<topic>", "topic": "<topic>", "partition": <n>}
//	{"key": "<value object being read>", "index": <records of it produced>}
//
// A restart reopens the object named by the offset and skips index
// records, so it resumes exactly after the last committed record, even in
// the middle of an object; a finished object's last offset names it with
// index = its record count, and the stream goes on with the next file.

// maxQueued bounds the files a stream remembers from one listing: the
// smallest start offsets above its cursor; the rest are found again by
// the next listing once these are read.
const maxQueued = 1000

// stream is the restore state of one Kafka partition.
type stream struct {
	topic     string
	partition int32
	srcPart   map[string]any
	// floor is the smallest start offset still to read: files below it
	// are done.
	floor int64
	// resumeKey and resumeIndex come from the committed offset: the
	// object to reopen and the records of it already produced.
	resumeKey   string
	resumeIndex int64
	queue       []backupFile // sorted by start, all >= floor
	// truncated says the last listing found more files than queued: the
	// stream lists again as soon as its queue is read.
	truncated bool
	cur       *openFile
}

// openFile is a value file being read, with its sidecars.
type openFile struct {
	file                backupFile
	values, keys, heads recordReader
	keysKey, headersKey string
	index               int64
}

func (o *openFile) close() {
	for _, r := range []recordReader{o.values, o.keys, o.heads} {
		if r != nil {
			_ = r.close()
		}
	}
}

// restorer is the restore-mode reader of a task.
type restorer struct {
	// life outlives Poll calls: objects stay open between them.
	life   context.Context
	s      *sourceSettings
	st     store
	ctx    connect.SourceTaskContext
	only   map[connect.TopicPartition]bool // nil: every partition found
	byTP   map[connect.TopicPartition]*stream
	order  []connect.TopicPartition // streams in a fixed order, for fairness
	turn   int
	listed time.Time // last listing; zero: never
	// queueMax is maxQueued, smaller in tests.
	queueMax int
}

// newStream makes the stream of tp, resuming from its committed offset.
func (r *restorer) newStream(tp connect.TopicPartition) (*stream, error) {
	sp := map[string]any{"folder": r.s.topicsPrefix() + tp.Topic, "topic": tp.Topic, "partition": int64(tp.Partition)}
	st := &stream{topic: tp.Topic, partition: tp.Partition, srcPart: sp}
	off, err := r.ctx.Offset(sp)
	if err != nil {
		return nil, fmt.Errorf("read the committed offset of %s: %w", tp, err)
	}
	if off == nil {
		return st, nil
	}
	key, ok, err := off.String("key")
	if err != nil {
		return nil, fmt.Errorf("committed offset of %s: %w", tp, err)
	}
	index, iok, err := off.Int("index")
	if err != nil {
		return nil, fmt.Errorf("committed offset of %s: %w", tp, err)
	}
	if !ok || !iok || index < 0 {
		return nil, fmt.Errorf("%w: committed offset of %s: %v needs a string key and a non-negative integer index", connect.ErrOffset, tp, off)
	}
	f, inLayout, err := r.s.parseBackupKey(key)
	if err != nil || !inLayout || f.kind != valueFile || f.topic != tp.Topic || f.partition != tp.Partition {
		return nil, fmt.Errorf("%w: committed offset of %s: key %q is not a value object of this topic-partition under %s=%s",
			connect.ErrOffset, tp, key, TopicsDirConfig, r.s.topicsDir)
	}
	st.floor, st.resumeKey, st.resumeIndex = f.start, key, index
	return st, nil
}

// list lists the backup and refreshes every stream's queue; a new
// partition gets a stream.
func (r *restorer) list(ctx context.Context) error {
	found := map[connect.TopicPartition][]backupFile{}
	truncated := map[connect.TopicPartition]bool{}
	visit := func(key string) error {
		f, ok, err := r.s.parseBackupKey(key)
		if err != nil || !ok || f.kind != valueFile {
			return err
		}
		tp := connect.TopicPartition{Topic: f.topic, Partition: f.partition}
		if r.only != nil && !r.only[tp] {
			return nil
		}
		st := r.byTP[tp]
		if st == nil {
			if st, err = r.newStream(tp); err != nil {
				return err
			}
			r.byTP[tp] = st
			r.order = append(r.order, tp)
		}
		if f.start < st.floor || (st.cur != nil && f.start <= st.cur.file.start) {
			return nil
		}
		q := append(found[tp], f)
		if len(q) > 2*r.queueMax { // keep the smallest queueMax
			slices.SortFunc(q, byStart)
			q = q[:r.queueMax]
			truncated[tp] = true
		}
		found[tp] = q
		return nil
	}
	// A task given some partitions lists only their topics' folders.
	var err error
	for _, prefix := range r.prefixes() {
		if err = listKeys(ctx, r.st.c, r.st.bucket, prefix, "", visit); err != nil {
			break
		}
	}
	if err != nil {
		return err
	}
	for tp, st := range r.byTP {
		q := found[tp]
		slices.SortFunc(q, byStart)
		st.truncated = truncated[tp] || len(q) > r.queueMax
		st.queue = q[:min(len(q), r.queueMax)]
	}
	r.listed = time.Now()
	return nil
}

// prefixes are the prefixes to list: topics.dir, or the folder of each
// topic of the task's partitions.
func (r *restorer) prefixes() []string {
	if r.only == nil {
		return []string{r.s.topicsPrefix()}
	}
	seen := map[string]bool{}
	var out []string
	for tp := range r.only {
		if p := r.s.topicsPrefix() + tp.Topic + r.s.dirDelim; !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	slices.Sort(out)
	return out
}

func byStart(a, b backupFile) int {
	if a.start != b.start {
		return compareInt(a.start, b.start)
	}
	return compareString(a.key, b.key)
}

func compareInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func compareString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// poll returns up to max records, taking turns between the streams.
// more says some stream has files queued, so the caller need not wait.
func (r *restorer) poll(ctx context.Context, max int) (recs []*connect.Record, more bool, err error) {
	if r.listed.IsZero() || r.starved() || r.idle() && time.Since(r.listed) >= r.s.poll {
		if err := r.list(ctx); err != nil {
			return nil, false, retriable(err)
		}
	}
	for range len(r.order) {
		if len(recs) >= max {
			break
		}
		st := r.byTP[r.order[r.turn%len(r.order)]]
		r.turn++
		got, err := r.read(ctx, st, max-len(recs))
		recs = append(recs, got...)
		if err != nil {
			return recs, true, err
		}
	}
	return recs, !r.idle(), nil
}

// starved reports that a stream read every file queued from a listing
// that found more.
func (r *restorer) starved() bool {
	for _, st := range r.byTP {
		if st.truncated && st.cur == nil && len(st.queue) == 0 {
			return true
		}
	}
	return false
}

// idle reports that no stream has a file open or queued.
func (r *restorer) idle() bool {
	for _, st := range r.byTP {
		if st.cur != nil || len(st.queue) > 0 {
			return false
		}
	}
	return true
}

// read returns up to max records of one stream.
func (r *restorer) read(ctx context.Context, st *stream, max int) ([]*connect.Record, error) {
	var out []*connect.Record
	for len(out) < max {
		if st.cur == nil {
			if len(st.queue) == 0 {
				return out, nil
			}
			cur, err := r.open(r.life, st, st.queue[0])
			if err != nil {
				return out, retriable(err)
			}
			st.queue, st.cur = st.queue[1:], cur
		}
		rec, err := r.next(st)
		if isTransient(err) {
			// Reopen the file at the next record: back in the queue,
			// with the records produced to skip.
			st.resumeKey, st.resumeIndex = st.cur.file.key, st.cur.index
			st.queue = append([]backupFile{st.cur.file}, st.queue...)
			st.cur.close()
			st.cur = nil
			return out, retriable(err)
		}
		if errors.Is(err, io.EOF) {
			st.floor = st.cur.file.start + 1
			st.cur.close()
			st.cur = nil
			continue
		}
		if err != nil {
			return out, err
		}
		out = append(out, rec)
	}
	return out, nil
}

// open opens a value file and its sidecars, skipping the records a
// committed offset says were produced.
func (r *restorer) open(ctx context.Context, st *stream, f backupFile) (*openFile, error) {
	if st.resumeKey != "" && f.key != st.resumeKey {
		r.ctx.Logger().Warn("the object named by the committed offset is gone; going on with the next file",
			"committed", st.resumeKey, "next", f.key)
		st.resumeKey, st.resumeIndex = "", 0
	}
	o := &openFile{file: f}
	var err error
	if o.values, err = readObject(ctx, r.st, r.s.value, f.key); err != nil {
		return nil, err
	}
	for _, side := range []struct {
		kind fileKind
		fm   backupFormat
		dst  *recordReader
		name *string
	}{{keysFile, r.s.keys, &o.keys, &o.keysKey}, {headersFile, r.s.heads, &o.heads, &o.headersKey}} {
		key := r.s.sidecarKey(f, side.kind)
		rr, err := readObject(ctx, r.st, side.fm, key)
		if errors.Is(err, errNoObject) {
			continue
		}
		if err != nil {
			o.close()
			return nil, err
		}
		*side.dst, *side.name = rr, key
	}
	if st.resumeKey == f.key {
		for o.index < st.resumeIndex {
			if _, err := r.next(&stream{cur: o, topic: st.topic, partition: st.partition}); err != nil {
				o.close()
				if errors.Is(err, io.EOF) {
					err = fmt.Errorf("object %s has fewer records than the %d the committed offset says were produced", f.key, st.resumeIndex)
				}
				return nil, err
			}
		}
		st.resumeKey, st.resumeIndex = "", 0
	}
	return o, nil
}

// next reads the next record of st's open file with its key and headers;
// io.EOF when the file (and its sidecars with it) is finished.
func (r *restorer) next(st *stream) (*connect.Record, error) {
	o := st.cur
	vs, v, err := o.values.next()
	eof := errors.Is(err, io.EOF)
	if err != nil && !eof {
		return nil, err
	}
	rec := &connect.Record{Topic: st.topic, Partition: st.partition, ValueSchema: vs, Value: v}
	if o.keys != nil {
		ks, k, kerr := o.keys.next()
		if err := sidecarAligned(o.file.key, o.keysKey, o.index, eof, kerr); err != nil {
			return nil, err
		}
		rec.KeySchema, rec.Key = ks, k
		if r.s.keys.class == ParquetFormatClass {
			rec.KeySchema, rec.Key = unwrapRecordKey(ks, k)
		}
	}
	if o.heads != nil {
		_, h, herr := o.heads.next()
		if err := sidecarAligned(o.file.key, o.headersKey, o.index, eof, herr); err != nil {
			return nil, err
		}
		if !eof {
			if rec.Headers, err = headersOf(h); err != nil {
				return nil, fmt.Errorf("object %s, record %d: %w", o.headersKey, o.index, err)
			}
			rec.Timestamp, rec.Headers = splitTimestamp(rec.Headers)
		}
	}
	if eof {
		return nil, io.EOF
	}
	o.index++
	rec.SourcePartition = st.srcPart
	rec.SourceOffset = map[string]any{"key": o.file.key, "index": o.index}
	return rec, nil
}

// retriable marks a transient error retriable, so the worker polls again
// after a backoff instead of failing the task.
func retriable(err error) error {
	if isTransient(err) {
		return connect.Retriable(err)
	}
	return err
}

// unwrapRecordKey returns the key a Parquet keys sidecar holds: the sink
// writes each key enveloped as Confluent's RecordKey{key}, a Parquet row
// being a record.
func unwrapRecordKey(s *connect.Schema, v any) (*connect.Schema, any) {
	st, ok := v.(*connect.Struct)
	if !ok || s == nil || (s.Name != "RecordKey" && !strings.HasSuffix(s.Name, ".RecordKey")) || len(s.Fields) != 1 || s.Fields[0].Name != "key" {
		return s, v
	}
	return s.Fields[0].Schema, st.GetField(&s.Fields[0])
}

// sidecarAligned checks that a sidecar ends where its value file does.
func sidecarAligned(valueKey, sideKey string, i int64, valueEOF bool, sideErr error) error {
	sideEOF := errors.Is(sideErr, io.EOF)
	switch {
	case sideErr != nil && !sideEOF:
		return sideErr
	case valueEOF && !sideEOF:
		return fmt.Errorf("object %s has more records than the %d of %s: the sidecar does not belong to it", sideKey, i, valueKey)
	case !valueEOF && sideEOF:
		return fmt.Errorf("object %s has %d records, fewer than %s: record %d has no line in the sidecar", sideKey, i, valueKey, i)
	}
	return nil
}

func (r *restorer) closeAll() {
	for _, st := range r.byTP {
		if st.cur != nil {
			st.cur.close()
			st.cur = nil
		}
	}
}
