package file

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/internal/connecttest"
)

// lineID reads the index of a line the acceptance suite wrote.
func lineID(v any) (int, error) {
	s, ok := v.(string)
	if !ok {
		return 0, fmt.Errorf("value %v is not a line", v)
	}
	return strconv.Atoi(strings.TrimPrefix(s, "line-"))
}

func TestSourceAcceptance(t *testing.T) {
	connecttest.Acceptance(t, connecttest.Spec{
		Plugin: Source,
		Config: func(t *testing.T) map[string]string {
			return map[string]string{FileConfig: filepath.Join(t.TempDir(), "in.txt"), TopicConfig: "lines"}
		},
		Topic: func(cfg map[string]string) string { return cfg[TopicConfig] },
		Produce: func(t *testing.T, cfg map[string]string, first, n int) {
			var b strings.Builder
			for i := first; i < first+n; i++ {
				fmt.Fprintf(&b, "line-%d\n", i)
			}
			writeFile(t, cfg[FileConfig], b.String())
		},
		ID: lineID,
	})
}

func TestSinkAcceptance(t *testing.T) {
	connecttest.Acceptance(t, connecttest.Spec{
		Plugin: Sink,
		Config: func(t *testing.T) map[string]string {
			return map[string]string{FileConfig: filepath.Join(t.TempDir(), "out.txt"), "topics": "written"}
		},
		Topic: func(cfg map[string]string) string { return cfg["topics"] },
		Written: func(t *testing.T, cfg map[string]string) []any {
			data, err := os.ReadFile(cfg[FileConfig])
			if errors.Is(err, os.ErrNotExist) {
				return nil
			}
			if err != nil {
				t.Fatal(err)
			}
			var out []any
			for _, l := range strings.Split(strings.TrimSuffix(string(data), "\n"), "\n") {
				if l != "" {
					out = append(out, l)
				}
			}
			return out
		},
		ID: func(v any) (int, error) { return strconv.Atoi(v.(string)) },
	})
}
