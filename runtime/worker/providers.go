package worker

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/sluicehq/sluice/internal/javaprops"
)

// configVar matches ${provider:[path:]key}, Kafka's ConfigTransformer
// pattern.
var configVar = regexp.MustCompile(`\$\{([^}]*?):(([^}]*?):)?([^}]*?)\}`)

// providers resolves config provider references inside the worker only:
// the stored and displayed configs keep the ${...} text.
type providers struct {
	kinds map[string]string // enabled provider name → env, file or directory
}

// resolve returns a copy of props with every ${provider:path:key}
// reference of an enabled provider replaced; the copy is the plugin's to
// keep or change, the stored config stays as it was. References to providers that are not enabled
// stay as they are (as Kafka leaves them); a reference that cannot be
// resolved is an error naming the key, never an empty value.
func (p providers) resolve(props map[string]string) (map[string]string, error) {
	out := maps.Clone(props)
	var errs []string
	for k, v := range props {
		if !strings.Contains(v, "${") {
			continue
		}
		nv := configVar.ReplaceAllStringFunc(v, func(ref string) string {
			m := configVar.FindStringSubmatch(ref)
			provider, path, key := m[1], m[3], m[4]
			kind, ok := p.kinds[provider]
			if !ok {
				return ref
			}
			val, err := lookupProvider(kind, path, key)
			if err != nil {
				errs = append(errs, fmt.Sprintf("%s: %v", k, err))
				return ref
			}
			return val
		})
		out[k] = nv
	}
	if len(errs) > 0 {
		slices.Sort(errs)
		return nil, fmt.Errorf("resolve config providers: %s", strings.Join(errs, "; "))
	}
	return out, nil
}

// hasReference reports whether v holds a config provider reference, which
// is shown as is rather than hidden.
func hasReference(v string) bool { return configVar.MatchString(v) }

func lookupProvider(provider, path, key string) (string, error) {
	switch provider {
	case "env":
		v, ok := os.LookupEnv(key)
		if !ok {
			return "", fmt.Errorf("environment variable %s is not set", key)
		}
		return v, nil
	case "file":
		if path == "" {
			return "", fmt.Errorf("${file:path:key} needs a path")
		}
		kv, err := javaprops.LoadFile(path)
		if err != nil {
			return "", fmt.Errorf("file config provider: %w", err)
		}
		v, ok := kv[key]
		if !ok {
			return "", fmt.Errorf("file config provider: %s has no key %s", path, key)
		}
		return v, nil
	case "directory":
		if path == "" || strings.Contains(key, "/") || key == ".." {
			return "", fmt.Errorf("directory config provider: invalid reference %s:%s", path, key)
		}
		b, err := os.ReadFile(filepath.Join(path, key))
		if err != nil {
			return "", fmt.Errorf("directory config provider: %w", err)
		}
		return string(b), nil
	}
	return "", fmt.Errorf("unknown config provider %q", provider)
}
