package main

import (
	"os"
	"strings"
	"testing"
)

// Each fixture must produce exactly these findings (substring per line), in order.
var want = map[string][]string{
	"good.Dockerfile": nil,
	"unpinned.Dockerfile": {
		`1: FROM rust:latest is not pinned (latest moves)`,
		`4: FROM debian:bookworm-slim is not pinned (tag "bookworm-slim" is not an exact version`,
	},
	// Its apt-get and shell-form ENTRYPOINT are hadolint's to refuse (dev/chart-test.sh).
	"root.Dockerfile": {
		`3: USER root is not numeric`,
	},
	"no-user.Dockerfile": {
		`2: FROM ${BASE} uses an ARG without a default`,
		`3: ADD https://example.com/app.tar.gz fetches a URL without a checksum`,
		`2: the final stage has no USER: it would run as root`,
	},
	"named-user.Dockerfile": {
		`1: FROM node:22 is not pinned (tag "22" is not an exact version and moves)`,
		`2: USER node is not numeric`,
	},
	"syntax.Dockerfile": {`2: syntax: dockerfile parse error on line 2: COPY requires at least two arguments`},
}

func TestFixtures(t *testing.T) {
	for file, expected := range want {
		src, err := os.ReadFile("testdata/" + file)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, p := range Lint(src) {
			got = append(got, p.String())
		}
		if len(got) != len(expected) {
			t.Errorf("%s: want %d problems, got %d:\n  %s", file, len(expected), len(got), strings.Join(got, "\n  "))
			continue
		}
		for i := range expected {
			if !strings.Contains(got[i], expected[i]) {
				t.Errorf("%s: problem %d is %q, want it to contain %q", file, i, got[i], expected[i])
			}
		}
	}
}

func TestPinnedTags(t *testing.T) {
	for ref, pinned := range map[string]bool{
		"rust:1.95.0-bookworm":                                            true,
		"docker.io/library/debian:bookworm-20251229-slim":                 true,
		"node:22.21.1-bookworm-slim":                                      true,
		"gcr.io/distroless/cc-debian12@sha256:" + strings.Repeat("a", 64): true,
		"gcr.io/distroless/cc-debian12:nonroot":                           false,
		"registry:5000/team/app":                                          false,
		"rust:1.95-bookworm":                                              false,
		"alpine:3":                                                        false,
	} {
		if got := unpinned(ref) == ""; got != pinned {
			t.Errorf("%s: pinned=%v, want %v (%s)", ref, got, pinned, unpinned(ref))
		}
	}
}
