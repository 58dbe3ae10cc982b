package main

import (
	"os"
	"path/filepath"
	"testing"
)

// An allow-list .dockerignore sends only the listed folders, minus build output inside them.
func TestContextSizeAppliesTheDockerignore(t *testing.T) {
	dir := t.TempDir()
	write := func(rel string, size int) {
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, make([]byte, size), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(".dockerignore", 0)
	write("Cargo.toml", 10)
	write("services/a/src/lib.rs", 100)
	write("services/a/target/debug/big", 1000)
	write("frontend/node_modules/x/index.js", 5000)
	write(".git/objects/pack", 7000)
	if err := os.WriteFile(filepath.Join(dir, ".dockerignore"), []byte("*\n!Cargo.toml\n!services/\n**/target/\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	files, bytes, err := ContextSize(dir)
	if err != nil {
		t.Fatal(err)
	}
	if files != 2 || bytes != 110 {
		t.Errorf("want Cargo.toml and lib.rs (2 files, 110 bytes), got %d files, %d bytes", files, bytes)
	}
}
