package weights

// Importing from a local Hugging Face cache (what huggingface-cli download,
// llama.cpp's -hf and the Python libraries fill), without copying:
//
//	HUB/models--ORG--REPO/refs/REVISION       the commit of a branch or tag
//	HUB/models--ORG--REPO/snapshots/COMMIT/…  the repository's files, links into blobs
//	HUB/models--ORG--REPO/blobs/SHA256        an LFS file's bytes, named by their SHA-256
//
// HUB is $HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub.
// The picked GGUF files are hashed against their blob names, then imported
// like files on disk (memory-mapped in place).

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/orbitswarm/orbit/engine/gguf"
)

// HFCacheDirs returns the Hugging Face hub caches to look in: $HF_HUB_CACHE,
// else $HF_HOME/hub, else $XDG_CACHE_HOME/huggingface/hub, else
// ~/.cache/huggingface/hub. getenv is os.Getenv outside tests.
func HFCacheDirs(getenv func(string) string) []string {
	switch {
	case getenv("HF_HUB_CACHE") != "":
		return []string{getenv("HF_HUB_CACHE")}
	case getenv("HF_HOME") != "":
		return []string{filepath.Join(getenv("HF_HOME"), "hub")}
	case getenv("XDG_CACHE_HOME") != "":
		return []string{filepath.Join(getenv("XDG_CACHE_HOME"), "huggingface", "hub")}
	case getenv("HOME") != "":
		return []string{filepath.Join(getenv("HOME"), ".cache", "huggingface", "hub")}
	}
	return []string{}
}

// hfCached is a repository's snapshot in a local cache.
type hfCached struct {
	dir    string // the snapshot directory
	models []HFModel
}

var hexSHA256 = regexp.MustCompile(`^[0-9a-f]{64}$`)

// findHFCache finds the snapshot of ref's revision in the first cache of
// dirs that has it, and lists its GGUF models; a file's SHA256 is its
// blob's name.
func findHFCache(dirs []string, ref HFRef) (*hfCached, error) {
	repoDir := "models--" + strings.ReplaceAll(ref.Repo, "/", "--")
	for _, d := range dirs {
		root := filepath.Join(d, repoDir)
		commit := ref.Revision
		if b, err := os.ReadFile(filepath.Join(root, "refs", ref.Revision)); err == nil {
			commit = strings.TrimSpace(string(b))
		}
		if !hfPart.MatchString(commit) {
			continue
		}
		snap := filepath.Join(root, "snapshots", commit)
		if st, err := os.Stat(snap); err != nil || !st.IsDir() {
			continue
		}
		var files []HFFile
		err := filepath.WalkDir(snap, func(p string, e fs.DirEntry, err error) error {
			if err != nil || e.IsDir() || !strings.HasSuffix(strings.ToLower(p), ".gguf") {
				return err
			}
			st, err := os.Stat(p) // through the link
			if err != nil {
				return nil // a dangling link: an interrupted download
			}
			rel, _ := filepath.Rel(snap, p)
			f := HFFile{Path: filepath.ToSlash(rel), Size: st.Size()}
			if target, err := os.Readlink(p); err == nil && hexSHA256.MatchString(filepath.Base(target)) {
				f.SHA256 = filepath.Base(target)
			}
			files = append(files, f)
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("weights: reading the Hugging Face cache %s: %w", snap, err)
		}
		return &hfCached{dir: snap, models: HFModels(files)}, nil
	}
	return nil, fmt.Errorf("%w: %s (revision %s) is not in the Hugging Face cache (%s)", ErrHFNotFound, ref.Repo, ref.Revision, strings.Join(dirs, ", "))
}

// importHFCache checks the files of m in the cached snapshot against their
// SHA-256s and imports them in place.
func (s *Store) importHFCache(ctx context.Context, c *hfCached, m HFModel, name string, opt ImportOptions, logf func(string, ...any)) (HFPullResult, error) {
	res := HFPullResult{Name: name, Model: m, Source: "cache"}
	logf("weights: importing from the Hugging Face cache", "model", name, "dir", c.dir)
	for _, f := range m.Files {
		if f.SHA256 == "" {
			continue
		}
		if err := hashFile(ctx, filepath.Join(c.dir, filepath.FromSlash(f.Path)), f.SHA256); err != nil {
			return res, err
		}
	}
	gf, err := gguf.Open(filepath.Join(c.dir, filepath.FromSlash(m.Files[0].Path)))
	if err != nil {
		return res, err
	}
	defer gf.Close()
	if n := max(1, len(gf.Parts())); n != len(m.Files) {
		return res, fmt.Errorf("weights: %s opens as %d parts, the cache lists %d", m.Files[0].Path, n, len(m.Files))
	}
	opt.Name = name
	res.Root, err = s.Import(ctx, gf, opt)
	return res, err
}

// hashFile checks that the file at path hashes to want (hex SHA-256).
func hashFile(ctx context.Context, path, want string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("weights: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	buf := make([]byte, 4<<20)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		n, err := f.Read(buf)
		h.Write(buf[:n])
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("weights: reading %s: %w", path, err)
		}
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != want {
		return &HFChecksumError{File: path, Want: want, Got: got}
	}
	return nil
}
