package weights

// Pulling models from the Hugging Face hub (or a mirror): hf:ORG/REPO[:QUANT].
//
// The repository's files are listed through the hub's API
// (GET /api/models/ORG/REPO/tree/REV?recursive=true, paginated by Link
// headers); each LFS file there carries the SHA-256 of its bytes. The GGUF
// files are grouped into models (a file, or the parts of a split model)
// and one is picked by its quantization, named at the end of the file name
// (Model-Q4_K_M.gguf), as llama.cpp's -hf does: the quant asked for, or
// by default Q4_K_M, else the closest quant the repository has. Each file
// is downloaded from /ORG/REPO/resolve/REV/PATH (the hub redirects to its
// file host), resumed with HTTP Range requests (If-Range with the ETag)
// when a connection drops, hashed as it streams and checked against its
// SHA-256 at the end, and imported by Store.ImportStream on the way.

import (
	"context"
	"crypto/sha256"
	"encoding"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"math"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/ipfs/go-cid"

	"github.com/orbitswarm/orbit/engine/gguf"
)

// HFPrefix marks a model name as a Hugging Face repository.
const HFPrefix = "hf:"

// HFDefaultEndpoint is the hub, unless HF_ENDPOINT names a mirror.
const HFDefaultEndpoint = "https://huggingface.co"

// HFDefaultQuant is the quantization picked when none is asked for.
const HFDefaultQuant = "Q4_K_M"

// Errors of pulls from the hub. Each error of this file's functions wraps
// one of them, or is an *HFChecksumError or a transport error.
var (
	// ErrHFRef is wrapped by errors about malformed hf: names.
	ErrHFRef = errors.New("weights: invalid Hugging Face model name")
	// ErrHFNotFound is wrapped by errors about a repository or file the hub
	// does not have (or hides: a private repository without a token).
	ErrHFNotFound = errors.New("weights: not on the Hugging Face hub")
	// ErrHFGated is wrapped by errors about a gated or private repository
	// the request had no access to.
	ErrHFGated = errors.New("weights: Hugging Face repository needs access")
	// ErrHFQuant is wrapped by errors about a quantization the repository
	// does not have, or a repository without GGUF files.
	ErrHFQuant = errors.New("weights: no such GGUF in the repository")
	// ErrHFDownload is wrapped by errors about downloads that failed after
	// their retries, or whose file changed on the hub meanwhile.
	ErrHFDownload = errors.New("weights: download failed")
	// ErrHFChanged is wrapped by errors about a file that changed on the
	// hub during its download (it wraps ErrHFDownload).
	ErrHFChanged = fmt.Errorf("%w: the file changed on the hub", ErrHFDownload)
)

// HFChecksumError reports a downloaded file whose bytes do not hash to
// the SHA-256 the hub publishes for it.
type HFChecksumError struct {
	File      string
	Want, Got string // hex
}

func (e *HFChecksumError) Error() string {
	return fmt.Sprintf("weights: %s: the downloaded bytes hash to sha256:%s, the hub says sha256:%s (corrupted in transit? pull again)", e.File, e.Got, e.Want)
}

// HFRef names a GGUF model of a Hugging Face repository.
type HFRef struct {
	Repo     string // ORG/REPO
	Quant    string // "" for the default
	Revision string // branch, tag or commit; "main" by default
}

var hfPart = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,95}$`)

// ParseHFRef parses ORG/REPO[:QUANT] or ORG/REPO[@REVISION][:QUANT]
// (with or without the hf: prefix, or hf.co/ or huggingface.co/ before
// ORG).
func ParseHFRef(s string) (HFRef, error) {
	in := s
	s = strings.TrimPrefix(s, HFPrefix)
	for _, p := range []string{"https://", "hf.co/", "huggingface.co/"} {
		s = strings.TrimPrefix(s, p)
	}
	r := HFRef{Revision: "main"}
	if i := strings.LastIndexByte(s, ':'); i >= 0 {
		s, r.Quant = s[:i], s[i+1:]
		if !hfPart.MatchString(r.Quant) {
			return HFRef{}, fmt.Errorf("%w %q: quant %q", ErrHFRef, in, r.Quant)
		}
	}
	if i := strings.IndexByte(s, '@'); i >= 0 {
		s, r.Revision = s[:i], s[i+1:]
		if !hfPart.MatchString(r.Revision) {
			return HFRef{}, fmt.Errorf("%w %q: revision %q", ErrHFRef, in, r.Revision)
		}
	}
	org, repo, ok := strings.Cut(s, "/")
	if !ok || !hfPart.MatchString(org) || !hfPart.MatchString(repo) || strings.Contains(s, "..") {
		return HFRef{}, fmt.Errorf("%w %q: want hf:ORG/REPO[:QUANT]", ErrHFRef, in)
	}
	r.Repo = org + "/" + repo
	return r, nil
}

// String is the name of the model: ORG/REPO:QUANT (the revision when not
// main), the quant as the repository's files spell it once picked.
func (r HFRef) String() string {
	s := r.Repo
	if r.Revision != "" && r.Revision != "main" {
		s += "@" + r.Revision
	}
	if r.Quant != "" {
		s += ":" + r.Quant
	}
	return s
}

// HFFile is a file of a repository.
type HFFile struct {
	Path   string
	Size   int64
	SHA256 string // hex; "" when the hub publishes none (not an LFS file)
}

// HFModel is one GGUF model of a repository: a file, or the parts of a
// split model in order.
type HFModel struct {
	Quant string // as the file name spells it, "" when it names none
	Files []HFFile
}

// Size is the bytes of all the model's files.
func (m HFModel) Size() int64 {
	var n int64
	for _, f := range m.Files {
		n += f.Size
	}
	return n
}

var quantName = regexp.MustCompile(`(?i)[-_.]((?:UD-)?(?:I?Q[0-9](?:_[0-9A-Z]+)*|BF16|F16|F32|FP16|FP32|MXFP4(?:_MOE)?))$`)

// hfQuant returns the quantization named at the end of a GGUF model's
// name (without .gguf and the split suffix), upper case; "" when none.
func hfQuant(name string) string {
	m := quantName.FindStringSubmatch(path.Base(name))
	if m == nil {
		if d := path.Dir(name); d != "." {
			if m = quantName.FindStringSubmatch("-" + path.Base(d)); m == nil {
				return ""
			}
		} else {
			return ""
		}
	}
	return strings.ToUpper(m[1])
}

// HFModels groups a repository's GGUF files into models, sorted by path:
// split parts together (a split model missing a part is left out), vision
// projectors (mmproj) left out.
func HFModels(files []HFFile) []HFModel {
	type group struct {
		parts []HFFile
		count int
	}
	groups := map[string]*group{}
	for _, f := range files {
		if !strings.HasSuffix(strings.ToLower(f.Path), ".gguf") || strings.Contains(strings.ToLower(path.Base(f.Path)), "mmproj") {
			continue
		}
		key, no, count := f.Path[:len(f.Path)-len(".gguf")], 0, 1
		if prefix, n, c, ok := gguf.ParseSplitPath(f.Path); ok {
			key, no, count = prefix, n, c
		}
		g := groups[key]
		if g == nil {
			g = &group{parts: make([]HFFile, count), count: count}
			groups[key] = g
		}
		if g.count != count {
			continue
		}
		g.parts[no] = f
	}
	var out []HFModel
	for key, g := range groups {
		complete := true
		for _, p := range g.parts {
			complete = complete && p.Path != ""
		}
		if complete {
			out = append(out, HFModel{Quant: hfQuant(key), Files: g.parts})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Files[0].Path < out[j].Files[0].Path })
	return out
}

// quantBits approximates the bits per weight of a quantization, to find
// the closest one.
func quantBits(q string) float64 {
	q = strings.TrimPrefix(strings.ToUpper(q), "UD-")
	known := map[string]float64{
		"F32": 32, "FP32": 32, "F16": 16, "FP16": 16, "BF16": 16, "Q8_0": 8.5, "Q6_K": 6.56, "Q5_1": 6, "Q5_K_M": 5.69,
		"Q5_K_S": 5.54, "Q5_0": 5.5, "Q4_1": 5, "Q4_K_M": 4.85, "Q4_K_S": 4.58, "Q4_0": 4.5, "IQ4_NL": 4.5, "IQ4_XS": 4.25,
		"Q3_K_L": 4.27, "Q3_K_M": 3.91, "IQ3_M": 3.66, "Q3_K_S": 3.5, "IQ3_S": 3.44, "IQ3_XS": 3.3, "IQ3_XXS": 3.06,
		"Q2_K": 2.96, "IQ2_M": 2.7, "IQ2_S": 2.5, "IQ2_XS": 2.31, "IQ2_XXS": 2.06, "IQ1_M": 1.75, "IQ1_S": 1.56,
		"MXFP4": 4.25, "MXFP4_MOE": 4.25,
	}
	if b, ok := known[q]; ok {
		return b
	}
	if i := strings.IndexByte(q, 'Q'); i >= 0 && i+1 < len(q) && q[i+1] >= '0' && q[i+1] <= '9' {
		return float64(q[i+1]-'0') + 0.5
	}
	return 0
}

// PickHFModel picks the model of quant from models (case-insensitive), or
// for quant "" the default quant, else the one closest to it (the larger
// on a tie), else the only model. A quant the repository lacks is an
// error listing the ones it has.
func PickHFModel(models []HFModel, quant string) (HFModel, error) {
	if len(models) == 0 {
		return HFModel{}, fmt.Errorf("%w: the repository has no GGUF files", ErrHFQuant)
	}
	want := quant
	if want == "" {
		want = HFDefaultQuant
	}
	for _, m := range models {
		if strings.EqualFold(m.Quant, want) {
			return m, nil
		}
	}
	if quant != "" {
		return HFModel{}, fmt.Errorf("%w: no %s; it has %s", ErrHFQuant, quant, hfQuants(models))
	}
	best, bestD := -1, math.Inf(1)
	wb := quantBits(want)
	for i, m := range models {
		b := quantBits(m.Quant)
		if b == 0 {
			continue
		}
		if d := math.Abs(b - wb); d < bestD || d == bestD && b > quantBits(models[best].Quant) {
			best, bestD = i, d
		}
	}
	switch {
	case best >= 0:
		return models[best], nil
	case len(models) == 1:
		return models[0], nil
	}
	return HFModel{}, fmt.Errorf("%w: no file names its quant; name one of %s", ErrHFQuant, hfQuants(models))
}

// hfQuants lists the models' quants (or file names) for an error.
func hfQuants(models []HFModel) string {
	var qs []string
	for _, m := range models {
		q := m.Quant
		if q == "" {
			q = path.Base(m.Files[0].Path)
		}
		if len(m.Files) > 1 {
			q += fmt.Sprintf(" (%d parts)", len(m.Files))
		}
		qs = append(qs, q)
	}
	return strings.Join(qs, ", ")
}

// HFClient talks to the hub.
type HFClient struct {
	Endpoint string // without a trailing slash
	Token    string // "" for none
	HTTP     *http.Client
	// Retries is how many times in a row a download may fail without
	// progress before it gives up; Backoff the first wait between tries
	// (doubling, at most 10 s).
	Retries int
	Backoff time.Duration
}

// NewHFClient returns a client for $HF_ENDPOINT (default the hub) with the
// token $HF_TOKEN; getenv is os.Getenv outside tests.
func NewHFClient(getenv func(string) string) *HFClient {
	ep := strings.TrimRight(getenv("HF_ENDPOINT"), "/")
	if ep == "" {
		ep = HFDefaultEndpoint
	}
	return &HFClient{Endpoint: ep, Token: getenv("HF_TOKEN"), HTTP: http.DefaultClient, Retries: 8, Backoff: 500 * time.Millisecond}
}

func (c *HFClient) get(ctx context.Context, u string, hdr map[string]string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	if c.Token != "" {
		// Go drops it on a redirect to another host (the file host).
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	req.Header.Set("User-Agent", "orbit")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	return c.HTTP.Do(req)
}

// hubError turns an error status of the hub into an error saying what to
// do, or nil for a success.
func (c *HFClient) hubError(resp *http.Response, what string) error {
	if resp.StatusCode < 300 {
		return nil
	}
	msg := resp.Header.Get("X-Error-Message")
	if msg == "" {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		var j struct{ Error string }
		if json.Unmarshal(b, &j) == nil {
			msg = j.Error
		}
	}
	if msg != "" {
		msg = " (" + msg + ")"
	}
	code := resp.Header.Get("X-Error-Code")
	switch {
	case code == "GatedRepo" || resp.StatusCode == http.StatusForbidden || resp.StatusCode == http.StatusUnauthorized && c.Token != "" && code != "RepoNotFound":
		if c.Token == "" {
			return fmt.Errorf("%w: %s is gated or private: accept its terms on the hub and set HF_TOKEN%s", ErrHFGated, what, msg)
		}
		return fmt.Errorf("%w: the token in HF_TOKEN has no access to %s (accept its terms on the hub?)%s", ErrHFGated, what, msg)
	case code == "RepoNotFound" || code == "EntryNotFound" || code == "RevisionNotFound" || resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusUnauthorized:
		hint := ""
		if c.Token == "" {
			hint = " (if it is private, set HF_TOKEN)"
		}
		return fmt.Errorf("%w: no %s at %s%s%s", ErrHFNotFound, what, c.Endpoint, hint, msg)
	}
	return fmt.Errorf("weights: %s: %s from %s%s", what, resp.Status, c.Endpoint, msg)
}

// List returns the files of the repository at ref's revision.
func (c *HFClient) List(ctx context.Context, ref HFRef) ([]HFFile, error) {
	u := fmt.Sprintf("%s/api/models/%s/tree/%s?recursive=true", c.Endpoint, ref.Repo, url.PathEscape(ref.Revision))
	var out []HFFile
	for page := 0; u != "" && page < 1000; page++ {
		resp, err := c.get(ctx, u, nil)
		if err != nil {
			return nil, fmt.Errorf("weights: listing %s: %w", ref.Repo, err)
		}
		if err := c.hubError(resp, "repository "+ref.Repo+" (revision "+ref.Revision+")"); err != nil {
			resp.Body.Close()
			return nil, err
		}
		var entries []struct {
			Type string `json:"type"`
			Path string `json:"path"`
			Size int64  `json:"size"`
			LFS  *struct {
				Oid  string `json:"oid"`
				Size int64  `json:"size"`
			} `json:"lfs"`
		}
		err = json.NewDecoder(io.LimitReader(resp.Body, 64<<20)).Decode(&entries)
		resp.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("weights: listing %s: %w", ref.Repo, err)
		}
		for _, e := range entries {
			if e.Type != "file" {
				continue
			}
			f := HFFile{Path: e.Path, Size: e.Size}
			if e.LFS != nil {
				f.SHA256, f.Size = strings.ToLower(e.LFS.Oid), e.LFS.Size
			}
			out = append(out, f)
		}
		u = nextLink(resp.Header.Get("Link"))
	}
	return out, nil
}

var linkNext = regexp.MustCompile(`<([^>]+)>;\s*rel="next"`)

// nextLink returns the rel="next" URL of a Link header, or "".
func nextLink(h string) string {
	if m := linkNext.FindStringSubmatch(h); m != nil {
		return m[1]
	}
	return ""
}

// fileURL is where the hub serves a file of the repository.
func (c *HFClient) fileURL(ref HFRef, p string) string {
	segs := strings.Split(p, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return fmt.Sprintf("%s/%s/resolve/%s/%s", c.Endpoint, ref.Repo, url.PathEscape(ref.Revision), strings.Join(segs, "/"))
}

// download is an io.Reader of one file of the hub: it (re)connects with
// Range requests from where it is, hashes what it reads, and at the end
// checks the SHA-256 (a mismatch is its last error instead of io.EOF).
type download struct {
	ctx  context.Context
	c    *HFClient
	url  string
	file HFFile

	body    io.ReadCloser
	etag    string
	off     int64
	h       hash.Hash
	fails   int // in a row, without progress
	done    bool
	onRetry func(off int64, err error)
}

func (d *download) Read(p []byte) (int, error) {
	for {
		if d.off >= d.file.Size {
			return 0, d.finish()
		}
		if d.body == nil {
			if err := d.connect(); err != nil {
				if errors.Is(err, ErrHFGated) || errors.Is(err, ErrHFNotFound) || errors.Is(err, ErrHFDownload) || d.ctx.Err() != nil {
					return 0, err
				}
				if err := d.retry(err); err != nil {
					return 0, err
				}
				continue
			}
		}
		n, err := d.body.Read(p[:min(int64(len(p)), d.file.Size-d.off)])
		if n > 0 {
			d.h.Write(p[:n])
			d.off += int64(n)
			d.fails = 0
		}
		if err != nil {
			d.body.Close()
			d.body = nil
			if err == io.EOF && d.off < d.file.Size {
				err = io.ErrUnexpectedEOF
			}
			if n == 0 && d.off < d.file.Size {
				if err := d.retry(err); err != nil {
					return 0, err
				}
			}
		}
		if n > 0 {
			return n, nil
		}
	}
}

// retry waits before the next connection, or gives up.
func (d *download) retry(cause error) error {
	d.fails++
	if d.fails > d.c.Retries {
		return fmt.Errorf("%w: %s at byte %d of %d: %d tries failed, the last: %w", ErrHFDownload, d.file.Path, d.off, d.file.Size, d.fails, cause)
	}
	if d.onRetry != nil {
		d.onRetry(d.off, cause)
	}
	wait := min(d.c.Backoff<<(d.fails-1), 10*time.Second)
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-d.ctx.Done():
		return d.ctx.Err()
	case <-t.C:
		return nil
	}
}

// connect opens the file from d.off.
func (d *download) connect() error {
	hdr := map[string]string{}
	if d.off > 0 {
		hdr["Range"] = fmt.Sprintf("bytes=%d-", d.off)
		if d.etag != "" {
			hdr["If-Range"] = d.etag
		}
	}
	resp, err := d.c.get(d.ctx, d.url, hdr)
	if err != nil {
		return err
	}
	if resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests {
		resp.Body.Close()
		return fmt.Errorf("%s", resp.Status)
	}
	if err := d.c.hubError(resp, "file "+d.file.Path); err != nil {
		resp.Body.Close()
		return err
	}
	etag := resp.Header.Get("ETag")
	switch {
	case d.off > 0 && resp.StatusCode == http.StatusPartialContent:
		start, ok := contentRangeStart(resp.Header.Get("Content-Range"))
		if !ok || start != d.off {
			resp.Body.Close()
			return fmt.Errorf("%w: %s: asked for bytes from %d, got %q", ErrHFDownload, d.file.Path, d.off, resp.Header.Get("Content-Range"))
		}
	case d.off > 0 && d.etag != "" && etag != d.etag:
		resp.Body.Close()
		return fmt.Errorf("%w: %s changed on the hub during the download (ETag %s, then %s); pull again", ErrHFChanged, d.file.Path, d.etag, etag)
	case d.off > 0:
		// No range support: the whole file again, the first bytes dropped.
		if _, err := io.CopyN(io.Discard, resp.Body, d.off); err != nil {
			resp.Body.Close()
			return err
		}
	case resp.StatusCode != http.StatusOK:
		resp.Body.Close()
		return fmt.Errorf("%w: %s: %s", ErrHFDownload, d.file.Path, resp.Status)
	}
	if d.etag == "" {
		d.etag = etag
	}
	d.body = resp.Body
	return nil
}

// contentRangeStart parses "bytes START-END/SIZE".
func contentRangeStart(h string) (int64, bool) {
	s, ok := strings.CutPrefix(h, "bytes ")
	if !ok {
		return 0, false
	}
	s, _, ok = strings.Cut(s, "-")
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}

// finish checks the file's hash once it is read.
func (d *download) finish() error {
	if d.body != nil {
		d.body.Close()
		d.body = nil
	}
	if !d.done {
		d.done = true
		got := hex.EncodeToString(d.h.Sum(nil))
		if d.file.SHA256 != "" && got != d.file.SHA256 {
			return &HFChecksumError{File: d.file.Path, Want: d.file.SHA256, Got: got}
		}
	}
	return io.EOF
}

// HFPullOptions tune Store.PullHF.
type HFPullOptions struct {
	// ImportOptions of the import; an empty Name names the model
	// ORG/REPO:QUANT. Progress counts the bytes downloaded.
	ImportOptions
	// Client talks to the hub; nil for NewHFClient(os.Getenv).
	Client *HFClient
	// CacheDirs are local Hugging Face caches to import from instead of
	// downloading, when one holds the model; nil for HFCacheDirs(os.Getenv).
	CacheDirs []string
	// Offline uses only the caches (HF_HUB_OFFLINE=1).
	Offline bool
	// Log, if set, is told about retries and where the model comes from.
	Log func(msg string, args ...any)
	// CheckpointEvery is how many bytes of a file may arrive between two
	// records of where its download stands (in the store's pulls
	// directory), from which a later pull resumes; 0 means 256 MiB.
	CheckpointEvery int64
}

// HFPullResult says what PullHF did.
type HFPullResult struct {
	Root   cid.Cid
	Name   string  // the model's name in the store
	Model  HFModel // the files picked
	Source string  // "download", "cache" (a local Hugging Face cache), or "store" (already there)
}

// PullHF puts the model ref of the Hugging Face hub into the store: from a
// local Hugging Face cache when one holds it, else downloaded straight into
// the store (ImportStream), each file checked against its SHA-256. A model
// pulled before (the same files) is not downloaded again.
func (s *Store) PullHF(ctx context.Context, ref HFRef, opt HFPullOptions) (HFPullResult, error) {
	logf := opt.Log
	if logf == nil {
		logf = func(string, ...any) {}
	}
	if opt.CacheDirs == nil {
		opt.CacheDirs = HFCacheDirs(os.Getenv)
	}
	name := func(m HFModel) string {
		if opt.Name != "" {
			return opt.Name
		}
		r := ref
		r.Quant = m.Quant
		return r.String()
	}
	// A local cache that has the quant asked for (or the default) is used
	// without asking the hub.
	cached, cerr := findHFCache(opt.CacheDirs, ref)
	if cerr == nil {
		want := ref.Quant
		if want == "" {
			want = HFDefaultQuant
		}
		if m, err := PickHFModel(cached.models, ref.Quant); err == nil && (opt.Offline || strings.EqualFold(m.Quant, want)) {
			if root, ok := s.pulled(ctx, m); ok {
				logf("weights: already in the store", "model", name(m), "root", root)
				return HFPullResult{Root: root, Name: name(m), Model: m, Source: "store"}, s.SetAlias(ctx, name(m), root)
			}
			res, err := s.importHFCache(ctx, cached, m, name(m), opt.ImportOptions, logf)
			if err != nil {
				return res, err
			}
			return res, s.notePulled(ctx, m, res.Root)
		}
	}
	if opt.Offline {
		if cerr != nil {
			return HFPullResult{}, fmt.Errorf("HF_HUB_OFFLINE is set and %w", cerr)
		}
		_, err := PickHFModel(cached.models, ref.Quant)
		return HFPullResult{}, fmt.Errorf("HF_HUB_OFFLINE is set and the cached %s: %w", ref.Repo, err)
	}
	c := opt.Client
	if c == nil {
		c = NewHFClient(os.Getenv)
	}
	files, err := c.List(ctx, ref)
	if err != nil {
		return HFPullResult{}, err
	}
	m, err := PickHFModel(HFModels(files), ref.Quant)
	if err != nil {
		return HFPullResult{}, fmt.Errorf("%s: %w", ref.Repo, err)
	}
	res := HFPullResult{Name: name(m), Model: m}
	if root, ok := s.pulled(ctx, m); ok {
		res.Root, res.Source = root, "store"
		logf("weights: already in the store", "model", res.Name, "root", root)
		return res, s.SetAlias(ctx, res.Name, root)
	}
	logf("weights: downloading", "model", res.Name, "files", len(m.Files), "bytes", m.Size(), "from", c.Endpoint)
	every := opt.CheckpointEvery
	if every <= 0 {
		every = 256 << 20
	}
	parts := make([]StreamPart, len(m.Files))
	for i, f := range m.Files {
		if f.SHA256 == "" {
			logf("weights: the hub publishes no SHA-256 for a file; its bytes are not checked", "file", f.Path)
		}
		d := &download{ctx: ctx, c: c, url: c.fileURL(ref, f.Path), file: f, h: sha256.New(),
			onRetry: func(off int64, err error) {
				logf("weights: download interrupted, resuming", "file", f.Path, "at", off, "err", err)
			}}
		parts[i] = StreamPart{Name: f.Path, Size: f.Size, R: d}
		if f.SHA256 == "" {
			continue
		}
		// A pull that stopped (a killed process, a network down for
		// long) left where it was; go on from there.
		if st, ok := s.loadPullState(f, d); ok {
			parts[i].Resume = st
			logf("weights: resuming an earlier pull", "file", f.Path, "at", st.Off, "of", f.Size)
		}
		parts[i].CheckpointEvery = every
		parts[i].Checkpoint = func(st PartState) error { return s.savePullState(f, d, st) }
	}
	iopt := opt.ImportOptions
	iopt.Name = res.Name
	res.Root, err = s.ImportStream(ctx, parts, iopt)
	// A pull done needs no state; bad or changed bytes start again.
	var ce *HFChecksumError
	changed := errors.Is(err, ErrHFChanged)
	for _, f := range m.Files {
		if err == nil || changed || errors.As(err, &ce) && ce.File == f.Path {
			_ = os.Remove(s.pullStatePath(f))
		}
	}
	if err != nil {
		return res, err
	}
	res.Source = "download"
	if err := s.notePulled(ctx, m, res.Root); err != nil {
		return res, err
	}
	return res, nil
}

// pullStatePath is where the state of an unfinished download of f is kept.
func (s *Store) pullStatePath(f HFFile) string {
	return filepath.Join(s.dir, "pulls", f.SHA256+".json")
}

// downloadState is a download's part of a PartState.
type downloadState struct {
	ETag string `json:"etag"`
	Hash []byte `json:"sha256"` // the hash's state at the offset
}

// savePullState records st, with d's state, for a later pull of f.
func (s *Store) savePullState(f HFFile, d *download, st PartState) error {
	hs, err := d.h.(encoding.BinaryMarshaler).MarshalBinary()
	if err != nil {
		return err
	}
	if st.Reader, err = json.Marshal(downloadState{ETag: d.etag, Hash: hs}); err != nil {
		return err
	}
	path := s.pullStatePath(f)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("weights: %w", err)
	}
	return writeFileAtomic(path, func(w io.Writer) error { return json.NewEncoder(w).Encode(st) })
}

// loadPullState reads the state of an unfinished download of f, if any,
// and sets d to go on from it.
func (s *Store) loadPullState(f HFFile, d *download) (*PartState, bool) {
	b, err := os.ReadFile(s.pullStatePath(f))
	if err != nil {
		return nil, false
	}
	var st PartState
	var ds downloadState
	if json.Unmarshal(b, &st) != nil || json.Unmarshal(st.Reader, &ds) != nil || st.Off < 0 || st.Off > f.Size {
		return nil, false
	}
	h := sha256.New()
	if h.(encoding.BinaryUnmarshaler).UnmarshalBinary(ds.Hash) != nil {
		return nil, false
	}
	// The chunks it counts on must still be stored (gc removes those of
	// no model).
	for _, cs := range st.Chunks {
		for _, c := range cs {
			if d, err := cid.Decode(c); c != "" && (err != nil || !s.HasBlock(d)) {
				_ = os.Remove(s.pullStatePath(f))
				return nil, false
			}
		}
	}
	d.h, d.etag, d.off = h, ds.ETag, st.Off
	return &st, true
}

// hfIndexFile maps the SHA-256s of pulled files to the root they gave,
// so a second pull of them is a no-op.
const hfIndexFile = "hf-pulled.json"

// hfKey names the content of a model's files.
func hfKey(m HFModel) (string, bool) {
	var ks []string
	for _, f := range m.Files {
		if f.SHA256 == "" {
			return "", false
		}
		ks = append(ks, f.SHA256)
	}
	return strings.Join(ks, ","), true
}

func (s *Store) readHFIndex() map[string]string {
	idx := map[string]string{}
	if b, err := os.ReadFile(filepath.Join(s.dir, hfIndexFile)); err == nil {
		_ = json.Unmarshal(b, &idx)
	}
	return idx
}

// pulled returns the root of a model pulled before from the same files,
// if the store still holds all of it.
func (s *Store) pulled(ctx context.Context, m HFModel) (cid.Cid, bool) {
	key, ok := hfKey(m)
	if !ok {
		return cid.Undef, false
	}
	v, ok := s.readHFIndex()[key]
	if !ok {
		return cid.Undef, false
	}
	root, err := cid.Decode(v)
	if err != nil || !s.hasModel(ctx, root) {
		return cid.Undef, false
	}
	return root, true
}

// hasModel reports whether every block of the model root is stored.
func (s *Store) hasModel(ctx context.Context, root cid.Cid) bool {
	m, err := s.Manifest(ctx, root)
	if err != nil {
		return false
	}
	if !s.hasAll(m.Tensors) {
		return false
	}
	for _, c := range m.MetadataChunks {
		if !s.HasBlock(c) {
			return false
		}
	}
	for _, ref := range m.Layers {
		l, err := s.Layer(ctx, ref.CID)
		if err != nil || !s.hasAll(l.Tensors) {
			return false
		}
	}
	return true
}

// notePulled records that m's files gave root.
func (s *Store) notePulled(ctx context.Context, m HFModel, root cid.Cid) error {
	key, ok := hfKey(m)
	if !ok {
		return nil
	}
	unlock, err := s.lock(ctx, "hf.lock", true)
	if err != nil {
		return err
	}
	defer unlock()
	idx := s.readHFIndex()
	idx[key] = root.String()
	return writeFileAtomic(filepath.Join(s.dir, hfIndexFile), func(w io.Writer) error {
		return json.NewEncoder(w).Encode(idx)
	})
}
