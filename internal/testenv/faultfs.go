package testenv

import (
	"os"

	"github.com/sluicehq/sluice/broker/log"
	"github.com/sluicehq/sluice/broker/log/faultfs"
)

// LogFS lets a broker's log live on fs, a filesystem that fails writes or
// loses what was not synced on demand. (faultfs cannot name log.File
// itself: the log's own tests import faultfs.)
func LogFS(fs *faultfs.FS) log.FS { return logFS{fs} }

type logFS struct{ *faultfs.FS }

func (f logFS) OpenFile(name string, flag int, perm os.FileMode) (log.File, error) {
	file, err := f.FS.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err
	}
	return file, nil
}
