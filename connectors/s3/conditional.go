package s3

import (
	"context"
	"fmt"
	"strconv"
)

// objectStore is what the task asks of the bucket beyond uploads: the
// uploader's optional capabilities, found by type assertion.
type objectStore interface {
	exists(ctx context.Context, key string) (bool, error)
	tag(ctx context.Context, key string, tags [][2]string) error
}

// nextAvailable is Confluent's findNextAvailableFile after a conditional
// write found the file name taken: scanning the offsets after the taken
// file's start, up to max.files.scan.limit of them, the first whose file
// (as the record there would start it) is not in the bucket, or that is
// past the records seen since the last commit. It returns the offset to
// read the partition again from: that one, or the start of an earlier
// file still to upload.
func (t *sinkTask) nextAvailable(ctx context.Context, w *partitionWriter, taken string) int64 {
	var start int64 = -1
	rest := w.pending
	for i, f := range w.pending {
		if f.key() == taken {
			start, rest = f.start, w.pending[i+1:]
			break
		}
	}
	if start < 0 {
		return w.base()
	}
	next := t.scanFrom(ctx, w, start+1)
	for _, f := range rest {
		next = min(next, f.start)
	}
	return next
}

func (t *sinkTask) scanFrom(ctx context.Context, w *partitionWriter, from int64) int64 {
	store, ok := t.up.(objectStore)
	end := from + t.s.scanLimit
	for off := from; off < end; off++ {
		enc, seen := w.started[off]
		if !seen || !ok {
			return off
		}
		key := t.s.objectKey(w.tp, enc, off, "", t.s.extension(t.views[0]))
		exists, err := store.exists(ctx, key)
		if err != nil {
			t.ctx.Logger().Warn("cannot tell whether a file exists; taking its start offset as free", "file", key, "error", err)
			return off
		}
		if !exists {
			return off
		}
	}
	return end
}

// tag tags a committed file with its offsets and record count, and the
// pairs of s3.object.tagging.key.value.pairs (which win over the first
// three, as in Confluent's tagFile), per s3.object.behavior.on.tagging.error.
func (t *sinkTask) tag(ctx context.Context, f *file) error {
	if !t.s.tagging {
		return nil
	}
	tags := [][2]string{
		{"startOffset", strconv.FormatInt(f.start, 10)},
		{"endOffset", strconv.FormatInt(f.end, 10)},
		{"recordCount", strconv.Itoa(f.records)},
	}
outer:
	for _, kv := range t.s.extraTags {
		for i := range tags {
			if tags[i][0] == kv[0] {
				tags[i][1] = kv[1]
				continue outer
			}
		}
		tags = append(tags, kv)
	}
	store, ok := t.up.(objectStore)
	if !ok {
		return nil
	}
	if err := store.tag(ctx, f.key(), tags); err != nil {
		if t.s.failOnTagError {
			return fmt.Errorf("%w (%s=fail)", err, TaggingErrorConfig)
		}
		t.ctx.Logger().Warn("could not tag an uploaded file; ignoring it", "file", f.key(), "error", err)
	}
	return nil
}
