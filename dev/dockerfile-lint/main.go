// dockerfile-lint checks TripNest's Dockerfiles against this project's policy, reading them
// with BuildKit's own Dockerfile parser (the one `docker build` uses), so a syntax error here
// is a syntax error there. The general Dockerfile rules (shell-form ENTRYPOINT/CMD, apt-get
// without --no-install-recommends, `latest`, a root USER by name, ...) are hadolint's, which
// dev/chart-test.sh runs next to this. Our policy, stricter than those:
//
//   - every base image is pinned: an `@sha256:` digest, or an exact version tag (x.y.z, or a
//     dated tag such as bookworm-20251229-slim); `latest`, no tag and moving tags (`1`, `1.95`,
//     `bookworm`, `nonroot`) are refused, and an ARG used in FROM must have a pinned default;
//   - the final stage runs as a numeric, non-root USER (so Kubernetes' runAsNonRoot can verify
//     it without reading /etc/passwd);
//   - ADD is not used to fetch URLs (use a pinned, checksummed download in a build stage).
//
// Usage: dockerfile-lint FILE...  — prints one line per problem as FILE:LINE: message, exits 1
// when there is any. `dockerfile-lint -context DIR MAX_MB` sums what `docker build DIR` would
// send (its .dockerignore applied with Docker's own pattern library) and fails above MAX_MB.
package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
)

// Problem is one finding at a line of a Dockerfile.
type Problem struct {
	Line int
	Msg  string
}

func (p Problem) String() string { return fmt.Sprintf("%d: %s", p.Line, p.Msg) }

var (
	digestRe   = regexp.MustCompile(`@sha256:[a-f0-9]{64}$`)
	semverRe   = regexp.MustCompile(`(^|[^0-9.])v?[0-9]+\.[0-9]+\.[0-9]+([^0-9.]|$)`)
	datedTagRe = regexp.MustCompile(`(^|[^0-9])20[0-9]{6}([^0-9]|$)`)
	argRefRe   = regexp.MustCompile(`\$\{?([A-Za-z_][A-Za-z0-9_]*)`)
	uidRe      = regexp.MustCompile(`^([0-9]+)(:([0-9]+))?$`)
)

// Lint parses one Dockerfile and returns its problems (a parse failure is one problem).
func Lint(src []byte) []Problem {
	var problems []Problem
	add := func(line int, format string, args ...any) {
		problems = append(problems, Problem{line, fmt.Sprintf(format, args...)})
	}
	res, err := parser.Parse(bytes.NewReader(src))
	if err != nil {
		return []Problem{{lineOf(err), "syntax: " + err.Error()}}
	}
	for _, w := range res.Warnings {
		line := 0
		if w.Location != nil {
			line = w.Location.Start.Line
		}
		add(line, "syntax: %s", w.Short)
	}
	stages, metaArgs, err := instructions.Parse(res.AST, nil)
	if err != nil {
		return append(problems, Problem{lineOf(err), "syntax: " + err.Error()})
	}
	if len(stages) == 0 {
		return append(problems, Problem{1, "no FROM: a Dockerfile needs at least one stage"})
	}
	defaults := map[string]string{}
	for _, a := range metaArgs {
		for _, kv := range a.Args {
			if kv.Value != nil {
				defaults[kv.Key] = *kv.Value
			}
		}
	}
	names := map[string]bool{}
	for _, st := range stages {
		line := firstLine(st.Location)
		base, ok := expand(st.BaseName, defaults)
		if !ok {
			add(line, "FROM %s uses an ARG without a default: give it a pinned default", st.BaseName)
		} else if !names[strings.ToLower(base)] && base != "scratch" {
			if why := unpinned(base); why != "" {
				add(line, "FROM %s is not pinned (%s): use an exact version tag such as rust:1.95.0-bookworm, or @sha256:<digest>", base, why)
			}
		}
		if st.Name != "" {
			names[strings.ToLower(st.Name)] = true
		}
		for _, cmd := range st.Commands {
			checkCommand(cmd, add)
		}
	}
	checkFinalStage(stages[len(stages)-1], add)
	return problems
}

// unpinned says why an image reference is not pinned, or "" when it is.
func unpinned(ref string) string {
	if digestRe.MatchString(ref) {
		return ""
	}
	name := ref[strings.LastIndex(ref, "/")+1:]
	i := strings.LastIndex(name, ":")
	if i < 0 {
		return "no tag, which means latest"
	}
	tag := name[i+1:]
	switch {
	case tag == "latest":
		return "latest moves"
	case semverRe.MatchString(tag) || datedTagRe.MatchString(tag):
		return ""
	default:
		return fmt.Sprintf("tag %q is not an exact version and moves", tag)
	}
}

// expand substitutes $VAR / ${VAR} with the ARG defaults declared before the first FROM.
func expand(s string, defaults map[string]string) (string, bool) {
	ok := true
	out := argRefRe.ReplaceAllStringFunc(s, func(m string) string {
		key := argRefRe.FindStringSubmatch(m)[1]
		v, found := defaults[key]
		if !found {
			ok = false
		}
		return v
	})
	return strings.NewReplacer("{", "", "}", "").Replace(out), ok
}

func checkCommand(cmd instructions.Command, add func(int, string, ...any)) {
	line := firstLine(cmd.Location())
	switch c := cmd.(type) {
	case *instructions.AddCommand:
		for _, src := range c.SourcePaths {
			if strings.HasPrefix(src, "http://") || strings.HasPrefix(src, "https://") {
				add(line, "ADD %s fetches a URL without a checksum: download it in a build stage and verify it", src)
			}
		}
	}
}

// checkFinalStage: the image that ships runs as a numeric non-root user.
func checkFinalStage(st instructions.Stage, add func(int, string, ...any)) {
	stageLine := firstLine(st.Location)
	var user *instructions.UserCommand
	for _, cmd := range st.Commands {
		if c, ok := cmd.(*instructions.UserCommand); ok {
			user = c
		}
	}
	if user == nil {
		add(stageLine, "the final stage has no USER: it would run as root; add USER <uid>:<gid> with a numeric non-root uid")
		return
	}
	line := firstLine(user.Location())
	m := uidRe.FindStringSubmatch(user.User)
	switch {
	case m == nil:
		add(line, "USER %s is not numeric: Kubernetes' runAsNonRoot can only verify a numeric uid (e.g. USER 10001:10001)", user.User)
	case mustAtoi(m[1]) == 0:
		add(line, "USER %s is root: use a non-root uid (e.g. 10001)", user.User)
	}
}

func mustAtoi(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		return -1
	}
	return n
}

func firstLine(r []parser.Range) int {
	if len(r) == 0 {
		return 0
	}
	return r[0].Start.Line
}

// lineOf digs the line out of a BuildKit error that carries a location.
func lineOf(err error) int {
	var el *parser.LocationError
	if errors.As(err, &el) && len(el.Locations) > 0 {
		return firstLine(el.Locations[0])
	}
	return 0
}

func main() {
	if len(os.Args) == 4 && os.Args[1] == "-context" {
		checkContext(os.Args[2], os.Args[3])
		return
	}
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: dockerfile-lint FILE...  |  dockerfile-lint -context DIR MAX_MB")
		os.Exit(2)
	}
	failed := false
	for _, path := range os.Args[1:] {
		src, err := os.ReadFile(path)
		if err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", path, err)
			failed = true
			continue
		}
		for _, p := range Lint(src) {
			fmt.Printf("%s:%s\n", path, p)
			failed = true
		}
	}
	if failed {
		os.Exit(1)
	}
}

// checkContext prints what `docker build DIR` would send and fails above maxMB.
func checkContext(dir, maxMB string) {
	limit, err := strconv.ParseFloat(maxMB, 64)
	if err != nil {
		fmt.Fprintf(os.Stderr, "MAX_MB %q: %v\n", maxMB, err)
		os.Exit(2)
	}
	files, bytes, err := ContextSize(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	mb := float64(bytes) / (1 << 20)
	fmt.Printf("%s: %d files, %.1f MB in the build context\n", dir, files, mb)
	if mb > limit {
		fmt.Printf("%s: the build context is over %.0f MB: exclude more in its .dockerignore\n", dir, limit)
		os.Exit(1)
	}
}
