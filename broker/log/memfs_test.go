package log

import (
	"os"

	"github.com/sluicehq/sluice/broker/log/faultfs"
)

// memFS is the crash-simulating in-memory filesystem of package faultfs as
// an FS: faultfs cannot import this package (these tests import it), so its
// OpenFile returns its own *File, which this adapter hands back as a File.
// Crash, SetFailWrites and SetFailSyncs come from the embedded *faultfs.FS.
type memFS struct{ *faultfs.FS }

var _ FS = memFS{}

func newMemFS() memFS { return memFS{faultfs.New()} }

func (m memFS) OpenFile(name string, flag int, perm os.FileMode) (File, error) {
	f, err := m.FS.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err // not a typed nil *faultfs.File
	}
	return f, nil
}
