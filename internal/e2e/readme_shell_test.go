package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/internal/testenv"
)

// An sh block runs as written, with bash -euo pipefail, in the group's
// working directory (a temporary directory holding a copy of configs/),
// with the built sluice first on PATH. The test adds only what a reader
// at a terminal does by waiting:
//
//   - `go run ./cmd/sluice ARGS` runs the built binary with ARGS (a shell
//     function named go), so the examples need no compiler at run time and
//     the process started is the one the test can stop.
//   - A command ending in `&` must start a sluice server (up, broker,
//     worker, standalone, registry). The next command runs once that
//     server has logged that it is listening (readmeReadyLines), as a
//     reader waits for the log line before typing on. The server's output
//     goes to a log shown when the test fails.
//   - A command whose last line ends in `# → TEXT`, or is followed by a
//     line `# → TEXT`, states its output: it must print a line containing
//     TEXT, where `…` stands for any run of characters. The command is rerun, for up to readmeWaitSeconds, until
//     it does and exits with status 0: a task takes a moment to start, a
//     record to arrive.
//
// Background servers are stopped (SIGTERM, then SIGKILL) when the group
// ends.

// readmeWaitSeconds bounds each wait for a server to listen and for a
// command to print what the README says it prints.
const readmeWaitSeconds = 30

// readmeReadyLines are what each sluice server command logs once it serves
// requests; a server is ready when it has logged all of its lines.
// The registry answers once it has read _schemas ("schema registry
// ready"), a moment after it listens.
var readmeReadyLines = map[string][]string{
	"up":         {"sluice broker listening", "sluice worker REST listening", "schema registry ready"},
	"broker":     {"sluice broker listening"},
	"worker":     {"sluice worker REST listening"},
	"standalone": {"sluice worker REST listening"},
	"registry":   {"schema registry ready"},
}

// readmePrelude defines the functions every sh block runs with. README_LOGS
// is the directory of server logs: PID.cmd holds the server command and
// PID.log its output, PID being the shell that started it.
func readmePrelude() string {
	var b strings.Builder
	fmt.Fprintf(&b, "__README_WAIT=%d\n", readmeWaitSeconds)
	b.WriteString(`if [ "${README_LIFELINE-}" = 3 ]; then
  # The test holds the other end of the pipe on fd 3. When the test ends,
  # even killed, read returns, and this block's process group goes with it:
  # a server left in the background must not hold the README's ports.
  { read -r _ <&3 || true; kill -KILL 0; } &
fi
sluice() {
  case "${1-}" in
  up|broker|worker|standalone|registry)
    local log="$README_LOGS/$BASHPID" # here, not in the redirection: that runs in the child
    printf '%s\n' "$1" >"$log.cmd"
    command sluice "$@" >>"$log.log" 2>&1 ;;
  *) command sluice "$@" ;;
  esac
}
go() {
  if [ "${1-}" = run ] && [ "${2-}" = ./cmd/sluice ]; then shift 2; sluice "$@"; return; fi
  command go "$@"
}
__ready() { # __ready PID: has the server started by PID logged all its ready lines?
  local log="$README_LOGS/$1"
  [ -f "$log.cmd" ] && [ -f "$log.log" ] || return 1
  case "$(cat "$log.cmd")" in
`)
	for _, cmd := range []string{"up", "broker", "worker", "standalone", "registry"} {
		fmt.Fprintf(&b, "  %s) ", cmd)
		for i, l := range readmeReadyLines[cmd] {
			if i > 0 {
				b.WriteString(" && ")
			}
			fmt.Fprintf(&b, "grep -qF %q \"$log.log\"", l)
		}
		b.WriteString(" ;;\n")
	}
	b.WriteString(`  *) return 1 ;;
  esac
}
__started() { # __started PID WHERE: wait until the background server PID listens
  local start=$SECONDS
  until __ready "$1"; do
    if ! kill -0 "$1" 2>/dev/null; then
      echo "$2: the background command exited; its output:" >&2
      tail -n 40 "$README_LOGS/$1.log" >&2 2>/dev/null || true
      return 1
    fi
    if [ ! -f "$README_LOGS/$1.cmd" ] && [ $((SECONDS - start)) -ge 3 ]; then
      echo "$2: a command ending in & must start a sluice server (up, broker, worker, standalone, registry)" >&2
      return 1
    fi
    if [ $((SECONDS - start)) -ge "$__README_WAIT" ]; then
      echo "$2: the server did not log that it is listening within ${__README_WAIT}s; its output:" >&2
      tail -n 40 "$README_LOGS/$1.log" >&2 2>/dev/null || true
      return 1
    fi
    sleep 0.1
  done
}
__matches() { # __matches OUTPUT WANT: does a line of OUTPUT contain WANT, … matching anything?
  local line rest piece
  local -a pieces
  IFS=$'\n' read -r -d '' -a pieces < <(printf '%s\0' "${2//…/$'\n'}") || true
  while IFS= read -r line; do
    rest=$line
    for piece in "${pieces[@]}"; do
      [[ $rest == *"$piece"* ]] || continue 2
      rest=${rest#*"$piece"}
    done
    return 0
  done <<<"$1"
  return 1
}
__expect() { # __expect WANT WHERE <<<COMMAND: rerun COMMAND until it prints WANT
  local want=$1 where=$2 cmd out status start=$SECONDS
  cmd=$(cat)
  while :; do
    status=0
    out=$(eval "$cmd") || status=$?
    if [ $status -eq 0 ] && __matches "$out" "$want"; then
      printf '%s\n' "$out"
      return 0
    fi
    if [ $((SECONDS - start)) -ge "$__README_WAIT" ]; then
      printf '%s: want a line containing %s (… is anything) and status 0 within %ss; last run exited %d and printed:\n%s\n' \
        "$where" "$want" "$__README_WAIT" "$status" "$out" >&2
      return 1
    fi
    sleep 0.2
  done
}
`)
	return b.String()
}

// shellCommand is one command of an sh block: lines joined by quotes,
// a trailing backslash, |, && or ||.
type shellCommand struct {
	line   int      // README line of its first line
	lines  []string // as written, the last without its comment
	expect string   // the text of a trailing `# → TEXT`, if any
	bg     bool     // it ends in & (a background server)
}

// splitShell splits an sh block into commands. It knows single and double
// quotes, backslashes and comments — enough for the README, which has no
// heredocs.
func splitShell(text string, firstLine int) []shellCommand {
	var cmds []shellCommand
	var cur *shellCommand
	inSingle, inDouble := false, false
	for n, line := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		if cur == nil {
			cmds = append(cmds, shellCommand{line: firstLine + n})
			cur = &cmds[len(cmds)-1]
		}
		code, comment := line, ""
		for i := 0; i < len(line); i++ {
			c := line[i]
			switch {
			case inSingle:
				inSingle = c != '\''
			case inDouble && c == '\\':
				i++
			case inDouble:
				inDouble = c != '"'
			case c == '\'':
				inSingle = true
			case c == '"':
				inDouble = true
			case c == '\\':
				i++
			case c == '#' && (i == 0 || line[i-1] == ' ' || line[i-1] == '\t'):
				code, comment = line[:i], line[i:]
				i = len(line)
			}
		}
		trimmed := strings.TrimSpace(code)
		continued := inSingle || inDouble || strings.HasSuffix(trimmed, "\\") ||
			strings.HasSuffix(trimmed, "|") || strings.HasSuffix(trimmed, "&&")
		want, isExpect := strings.CutPrefix(comment, "# →")
		if isExpect && trimmed == "" && len(cur.lines) == 0 && len(cmds) > 1 {
			// A line of its own states the output of the command before.
			cmds = cmds[:len(cmds)-1]
			cmds[len(cmds)-1].expect = strings.TrimSpace(want)
			cur = nil
			continue
		}
		if isExpect && !continued {
			cur.expect = strings.TrimSpace(want)
			line = strings.TrimRight(code, " \t")
		}
		cur.lines = append(cur.lines, line)
		if !continued {
			cur.bg = strings.HasSuffix(trimmed, "&") && !strings.HasSuffix(trimmed, "&&")
			cur = nil
		}
	}
	return cmds
}

// shellScript is the script the test runs for an sh block: the prelude,
// then the block's commands with the waits described above.
func shellScript(b *readmeBlock, text string) (string, error) {
	var s strings.Builder
	s.WriteString(readmePrelude())
	for i, c := range splitShell(text, b.line+1) {
		where := fmt.Sprintf("README.md:%d", c.line)
		body := strings.Join(c.lines, "\n")
		switch {
		case c.bg && c.expect != "":
			return "", fmt.Errorf("%s: a background command cannot have an expected output", where)
		case c.expect != "":
			delim := fmt.Sprintf("__README_CMD_%d", i)
			fmt.Fprintf(&s, "__expect %s %s <<'%s'\n%s\n%s\n", shellQuote(c.expect), where, delim, body, delim)
		case c.bg:
			fmt.Fprintf(&s, "%s\n__started $! %s\n", body, where)
		default:
			s.WriteString(body + "\n")
		}
	}
	return s.String(), nil
}

// shellQuote quotes s for bash.
func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// serversReady reports whether every sluice server started so far (a
// PID.cmd in logs) has logged all its ready lines, and whether there is
// at least one.
func serversReady(logs string) (bool, error) {
	cmds, err := filepath.Glob(filepath.Join(logs, "*.cmd"))
	if err != nil || len(cmds) == 0 {
		return false, err
	}
	for _, c := range cmds {
		name, err := os.ReadFile(c)
		if err != nil {
			return false, err
		}
		out, err := os.ReadFile(strings.TrimSuffix(c, ".cmd") + ".log")
		if err != nil {
			return false, nil
		}
		for _, l := range readmeReadyLines[strings.TrimSpace(string(name))] {
			if !strings.Contains(string(out), l) {
				return false, nil
			}
		}
	}
	return true, nil
}

// TestREADMEShell checks how sh blocks are read: commands spanning lines,
// expected outputs, background servers; and that a wrong expected output
// fails.
func TestREADMEShell(t *testing.T) {
	text := "curl -s x -d '{\n  \"a\": 1}'   # → {\"id\":1}\n" +
		"sluice broker &\n" +
		"echo 'a # b' | tr a c \\\n  | cat   # plain comment\n" +
		"echo long\n# → long\n"
	cmds := splitShell(text, 10)
	require.Len(t, cmds, 4)
	require.Equal(t, shellCommand{line: 10, lines: []string{"curl -s x -d '{", "  \"a\": 1}'"}, expect: `{"id":1}`}, cmds[0])
	require.Equal(t, shellCommand{line: 12, lines: []string{"sluice broker &"}, bg: true}, cmds[1])
	require.Equal(t, []string{"echo 'a # b' | tr a c \\", "  | cat   # plain comment"}, cmds[2].lines)
	require.Empty(t, cmds[2].expect)
	require.Equal(t, shellCommand{line: 15, lines: []string{"echo long"}, expect: "long"}, cmds[3])

	testenv.RequireBinary(t, "bash")
	for _, tc := range []struct {
		block string
		ok    bool
	}{
		{"printf 'a\\nsome words here\\n'   # → some…here\n", true},
		{"echo hi   # → bye\n", false},
		{"false   # → \n", false},
		{"echo one; false\n", false},
	} {
		b := &readmeBlock{line: 1, lang: "sh", text: tc.block}
		script, err := shellScript(b, b.text)
		require.NoError(t, err)
		script = strings.Replace(script, fmt.Sprintf("__README_WAIT=%d", readmeWaitSeconds), "__README_WAIT=1", 1)
		out, err := exec.Command("bash", "-euo", "pipefail", "-c", script).CombinedOutput()
		require.Equal(t, tc.ok, err == nil, "%q: %v\n%s", tc.block, err, out)
	}
}
