package main

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
)

// ContextSize walks a build context the way `docker build` would send it: everything under
// dir that its .dockerignore does not exclude (same pattern rules, same library). It returns
// the number of files and their total size.
func ContextSize(dir string) (files int, bytes int64, err error) {
	var patterns []string
	if f, err := os.Open(filepath.Join(dir, ".dockerignore")); err == nil {
		patterns, err = ignorefile.ReadAll(f)
		f.Close()
		if err != nil {
			return 0, 0, fmt.Errorf("%s/.dockerignore: %w", dir, err)
		}
	}
	pm, err := patternmatcher.New(patterns)
	if err != nil {
		return 0, 0, fmt.Errorf("%s/.dockerignore: %w", dir, err)
	}
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		if rel == "." {
			return nil
		}
		rel = filepath.ToSlash(rel)
		excluded, err := pm.MatchesOrParentMatches(rel)
		if err != nil {
			return err
		}
		if d.IsDir() {
			if excluded && !reincludes(pm, rel) {
				return filepath.SkipDir
			}
			return nil
		}
		if excluded || !d.Type().IsRegular() {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		files++
		bytes += info.Size()
		return nil
	})
	return files, bytes, err
}

// reincludes: whether a `!pattern` may bring back something below the excluded directory rel.
func reincludes(pm *patternmatcher.PatternMatcher, rel string) bool {
	for _, p := range pm.Patterns() {
		if !p.Exclusion() {
			continue
		}
		s := p.String()
		if strings.HasPrefix(s, rel+"/") || strings.HasPrefix(s, "**") || strings.HasPrefix(rel, strings.TrimSuffix(s, "/")) {
			return true
		}
	}
	return false
}
