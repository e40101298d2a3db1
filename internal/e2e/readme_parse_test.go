package e2e

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// The README's code blocks are tested as written (TestREADME). Each fenced
// block carries a decision on the line right before its opening fence, an
// HTML comment GitHub does not show:
//
//	<!-- readme-test: run [group=NAME] [id=NAME] [needs=postgres|s3|mosquitto] [validate=CLASS] [config.KEY=VALUE …] [import=PATH …] [db=NAME] -->
//	<!-- readme-test: serve [group=NAME] -->
//	<!-- readme-test: skip REASON -->
//
// A block without one fails the test, so every new example is either run or
// skipped for a stated reason.
//
//   - run: sh blocks run with bash -euo pipefail; go blocks are built into a
//     program and run; json and properties blocks must parse (json
//     fragments, `"key": "value",` lines, are read inside braces), and with
//     validate=CLASS the config, plus any config.KEY=VALUE, must pass
//     PUT /connector-plugins/CLASS/config/validate on the running worker
//     (127.0.0.1:8083); sql blocks run through psql in database db (needs
//     needs=postgres in the group).
//   - serve: an sh block that runs a server in the foreground. It runs until
//     every sluice server it started logs that it is listening, then gets
//     SIGINT (Ctrl-C) and must exit with status 0.
//   - group=NAME: the blocks of one group run in README order in one
//     environment — one working directory, the servers an earlier block
//     started in the background still running — as a reader who keeps one
//     terminal open. A block without a group is a group of its own.
//   - needs=postgres: the group gets a throwaway Postgres (internal/testenv);
//     in its blocks the README's port 5432 stands for that server's port,
//     and PGHOST, PGPORT and PGUSER point psql at it.
//   - needs=s3: the group gets a throwaway S3 server, versitygw
//     (internal/testenv), with every bucket its blocks name in
//     "s3.bucket.name"; in its blocks the README's port 7070 (versitygw's
//     default) stands for that server's port, and AWS_ACCESS_KEY_ID and
//     AWS_SECRET_ACCESS_KEY hold its keys for the default credential chain.
//   - needs=mosquitto: the group gets a throwaway Mosquitto
//     (internal/testenv); in its blocks the README's port 1883 (MQTT's)
//     stands for that server's port.
//   - id=NAME names a block for other tests (readmeBlockByID).
//   - import=PATH adds an import to a go block beyond those found from the
//     package names it uses (readmeGoImports).

// readmeBlock is one fenced code block of the README.
type readmeBlock struct {
	line   int    // line of the opening fence, 1-based
	lang   string // first word of the fence's info string
	text   string // the lines between the fences, each ending in "\n"
	marker readmeMarker
}

// where names the block for messages: README.md:LINE (lang).
func (b *readmeBlock) where() string { return fmt.Sprintf("README.md:%d (%s)", b.line, b.lang) }

// readmeMarker is the decision written before a block.
type readmeMarker struct {
	action   string // run, serve or skip
	reason   string // why a block is skipped
	group    string
	id       string
	needs    []string
	validate string            // connector class to validate a config with
	config   map[string]string // keys added to a validated config
	imports  []string
	db       string
}

var (
	readmeMarkerLine = regexp.MustCompile(`^<!-- readme-test: (.*) -->$`)
	// readmeActions says which actions each block language supports.
	readmeActions = map[string][]string{
		"sh":         {"run", "serve"},
		"go":         {"run"},
		"json":       {"run"},
		"properties": {"run"},
		"sql":        {"run"},
	}
)

// parseReadme returns every fenced block of doc with its marker. It fails
// on a block without a marker, a marker that is not followed by a block,
// an unknown option, or an action the block's language does not support.
func parseReadme(doc string) ([]readmeBlock, error) {
	lines := strings.Split(doc, "\n")
	var blocks []readmeBlock
	var errs []string
	for i := 0; i < len(lines); i++ {
		if m := readmeMarkerLine.FindStringSubmatch(lines[i]); m != nil {
			if i+1 >= len(lines) || !strings.HasPrefix(lines[i+1], "```") {
				errs = append(errs, fmt.Sprintf("README.md:%d: readme-test marker not right before a ``` fence", i+1))
			}
			continue
		}
		if !strings.HasPrefix(lines[i], "```") {
			continue
		}
		b := readmeBlock{line: i + 1, lang: firstWord(strings.TrimPrefix(lines[i], "```"))}
		end := i + 1
		for end < len(lines) && !strings.HasPrefix(lines[end], "```") {
			b.text += lines[end] + "\n"
			end++
		}
		if end == len(lines) {
			errs = append(errs, fmt.Sprintf("%s: fence never closed", b.where()))
			break
		}
		var m []string
		if i > 0 {
			m = readmeMarkerLine.FindStringSubmatch(lines[i-1])
		}
		var err error
		if m == nil {
			err = fmt.Errorf("no <!-- readme-test: run|serve|skip REASON --> marker on the line before the block")
		} else {
			b.marker, err = parseMarker(m[1], b.lang)
		}
		if err != nil {
			errs = append(errs, fmt.Sprintf("%s: %v", b.where(), err))
		}
		blocks = append(blocks, b)
		i = end
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("README.md code blocks:\n%s", strings.Join(errs, "\n"))
	}
	return blocks, nil
}

func firstWord(s string) string {
	if f := strings.Fields(s); len(f) > 0 {
		return f[0]
	}
	return ""
}

// parseMarker reads the text of a readme-test marker for a block in lang.
func parseMarker(s, lang string) (readmeMarker, error) {
	fields := strings.Fields(s)
	if len(fields) == 0 {
		return readmeMarker{}, fmt.Errorf("empty readme-test marker")
	}
	m := readmeMarker{action: fields[0]}
	if m.action == "skip" {
		m.reason = strings.Join(fields[1:], " ")
		if m.reason == "" {
			return m, fmt.Errorf("skip without a reason")
		}
		return m, nil
	}
	if m.action != "run" && m.action != "serve" {
		return m, fmt.Errorf("unknown action %q (want run, serve or skip REASON)", m.action)
	}
	if lang == "" {
		return m, fmt.Errorf("a block to %s needs a language (```sh, ```go, …)", m.action)
	}
	if !slices.Contains(readmeActions[lang], m.action) {
		return m, fmt.Errorf("%q blocks cannot be marked %s", lang, m.action)
	}
	for _, f := range fields[1:] {
		k, v, ok := strings.Cut(f, "=")
		if !ok || v == "" {
			return m, fmt.Errorf("option %q is not key=value", f)
		}
		switch {
		case k == "group":
			m.group = v
		case k == "id":
			m.id = v
		case k == "needs" && (v == "postgres" || v == "s3" || v == "mosquitto"):
			m.needs = append(m.needs, v)
		case k == "validate" && lang == "json":
			m.validate = v
		case strings.HasPrefix(k, "config.") && lang == "json":
			if m.config == nil {
				m.config = map[string]string{}
			}
			m.config[strings.TrimPrefix(k, "config.")] = v
		case k == "import" && lang == "go":
			m.imports = append(m.imports, v)
		case k == "db" && lang == "sql":
			m.db = v
		default:
			return m, fmt.Errorf("unknown option %q for a %s block", f, lang)
		}
	}
	if lang == "sql" && m.db == "" {
		return m, fmt.Errorf("a sql block to run needs db=NAME")
	}
	return m, nil
}

// readmeGroup is blocks that run in order in one environment.
type readmeGroup struct {
	name   string
	blocks []readmeBlock
}

// needs reports whether any block of the group needs the named server.
func (g *readmeGroup) needs(what string) bool {
	for _, b := range g.blocks {
		if slices.Contains(b.marker.needs, what) {
			return true
		}
	}
	return false
}

// readmeGroups puts the blocks to run or serve into groups, ordered by
// their first block.
func readmeGroups(blocks []readmeBlock) []*readmeGroup {
	var groups []*readmeGroup
	byName := map[string]*readmeGroup{}
	for _, b := range blocks {
		if b.marker.action == "skip" {
			continue
		}
		name := b.marker.group
		if name == "" {
			name = fmt.Sprintf("line%d", b.line)
		}
		g := byName[name]
		if g == nil {
			g = &readmeGroup{name: name}
			byName[name] = g
			groups = append(groups, g)
		}
		g.blocks = append(g.blocks, b)
	}
	return groups
}

// TestREADMEMarkers checks that every block needs a decision, and that
// markers are read as documented.
func TestREADMEMarkers(t *testing.T) {
	fence := "```"
	for _, tc := range []struct {
		name, doc, err string
	}{
		{"no marker", fence + "sh\necho hi\n" + fence + "\n", "no <!-- readme-test"},
		{"skip without reason", "<!-- readme-test: skip -->\n" + fence + "sh\nx\n" + fence + "\n", "skip without a reason"},
		{"stray marker", "<!-- readme-test: run -->\n\n" + fence + "sh\nx\n" + fence + "\n", "not right before"},
		{"no language", "<!-- readme-test: run -->\n" + fence + "\nx\n" + fence + "\n", "needs a language"},
		{"unknown option", "<!-- readme-test: run colour=red -->\n" + fence + "sh\nx\n" + fence + "\n", "unknown option"},
		{"serve go", "<!-- readme-test: serve -->\n" + fence + "go\nx\n" + fence + "\n", "cannot be marked serve"},
		{"unclosed", "<!-- readme-test: run -->\n" + fence + "sh\nx\n", "never closed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseReadme(tc.doc)
			require.ErrorContains(t, err, tc.err)
		})
	}
	doc := "<!-- readme-test: run group=g validate=FileStreamSource config.topic=t -->\n" + fence + "json\n\"a\": \"b\"\n" + fence + "\n" +
		"<!-- readme-test: skip needs a cloud account -->\n" + fence + "sh\naws s3 ls\n" + fence + "\n" +
		"<!-- readme-test: run group=g -->\n" + fence + "sh\necho\n" + fence + "\n"
	blocks, err := parseReadme(doc)
	require.NoError(t, err)
	require.Len(t, blocks, 3)
	require.Equal(t, readmeMarker{action: "run", group: "g", validate: "FileStreamSource", config: map[string]string{"topic": "t"}}, blocks[0].marker)
	require.Equal(t, "needs a cloud account", blocks[1].marker.reason)
	groups := readmeGroups(blocks)
	require.Len(t, groups, 1)
	require.Equal(t, []int{2, 10}, []int{groups[0].blocks[0].line, groups[0].blocks[1].line})
}
