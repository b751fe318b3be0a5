package api

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/orbitswarm/orbit/api/web"
	"github.com/orbitswarm/orbit/clock"
	"github.com/orbitswarm/orbit/metrics"
)

// DefaultPort is the port of the node API; DefaultAddr its default address.
const (
	DefaultPort = 7717
	DefaultAddr = "127.0.0.1:7717"
)

// DefaultMaxBodyBytes caps request bodies.
const DefaultMaxBodyBytes = 1 << 20

// Options configures a Server.
type Options struct {
	// APIKey, when set, is required as "Authorization: Bearer KEY" on the
	// API and metrics endpoints. It is required to listen on a
	// non-loopback address.
	APIKey string
	// MaxBodyBytes caps request bodies (default DefaultMaxBodyBytes).
	MaxBodyBytes int64
	// Metrics is exposed on /metrics and counts HTTP traffic; nil makes a
	// new one. Give the backend the same Metrics to count its work.
	Metrics *metrics.Metrics
	Logger  *slog.Logger
	// NoDashboard leaves / unserved.
	NoDashboard bool
	// Hosts are more names (or host:port) a server without an API key
	// answers besides loopback names and addresses; Serve adds the
	// listener's address.
	Hosts []string
	// CORSOrigins are the origins (scheme://host[:port], or "*") whose
	// browser requests are answered with CORS headers; requests from
	// other origins are refused.
	CORSOrigins []string
	// BodyTimeout bounds the time to receive a request body (default
	// DefaultBodyTimeout): a client trickling its body is cut off.
	BodyTimeout time.Duration
	// HistoryInterval and HistoryLength shape /api/v1/history
	// (DefaultHistoryInterval, DefaultHistoryLength).
	HistoryInterval time.Duration
	HistoryLength   int
	// Clock is the server's time source for the history (the system
	// clock).
	Clock clock.Clock
}

// Server is the node's HTTP handler: OpenAI API, node API, metrics and
// dashboard over a Backend.
type Server struct {
	b       Backend
	opt     Options
	log     *slog.Logger
	mux     *http.ServeMux
	key     [sha256.Size]byte
	session [sha256.Size]byte // of the session cookie's value
	auth    bool

	mu    sync.Mutex
	hosts []string // see Options.Hosts

	hist *history

	// tries are the vocabularies' token tries of the JSON mask.
	tries trieCache
}

// NewServer returns the handler over b.
func NewServer(b Backend, opt Options) *Server {
	if opt.MaxBodyBytes <= 0 {
		opt.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if opt.Metrics == nil {
		opt.Metrics = metrics.New()
	}
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	if opt.BodyTimeout <= 0 {
		opt.BodyTimeout = DefaultBodyTimeout
	}
	if opt.HistoryInterval <= 0 {
		opt.HistoryInterval = DefaultHistoryInterval
	}
	if opt.HistoryLength <= 0 {
		opt.HistoryLength = DefaultHistoryLength
	}
	s := &Server{b: b, opt: opt, log: opt.Logger, mux: http.NewServeMux(), hosts: slices.Clone(opt.Hosts),
		hist: newHistory(opt.Clock, opt.HistoryInterval, opt.HistoryLength)}
	if opt.APIKey != "" {
		s.auth = true
		s.key = sha256.Sum256([]byte(opt.APIKey))
		s.session = sha256.Sum256([]byte(sessionValue(opt.APIKey)))
	}
	s.handle("/api/v1/session", http.MethodPost, true, s.newSession)
	s.handle("/v1/models", http.MethodGet, true, s.listModels)
	s.handle("/v1/models/{id...}", http.MethodGet, true, s.getModel)
	s.handle("/v1/completions", http.MethodPost, true, s.completions)
	s.handle("/v1/chat/completions", http.MethodPost, true, s.chatCompletions)
	s.handle("/api/tags", http.MethodGet, true, s.ollamaTags)
	s.handle("/api/show", http.MethodPost, true, s.ollamaShow)
	s.handle("/api/generate", http.MethodPost, true, s.ollamaGenerate)
	s.handle("/api/chat", http.MethodPost, true, s.ollamaChat)
	s.handle("/api/v1/status", http.MethodGet, true, s.status)
	s.handle("/api/v1/peers", http.MethodGet, true, s.peers)
	s.handle("/api/v1/models", http.MethodGet, true, s.nodeModels)
	s.handle("/api/v1/route", http.MethodGet, true, s.route)
	s.handle("/api/v1/history", http.MethodGet, true, s.history)
	s.handle("/api/v1/kv", http.MethodGet, true, s.kvCache)
	s.handle("/metrics", http.MethodGet, true, opt.Metrics.Handler().ServeHTTP)
	if !opt.NoDashboard {
		static := web.Handler()
		s.handle("/{$}", http.MethodGet, false, static.ServeHTTP)
		s.handle("/assets/", http.MethodGet, false, static.ServeHTTP)
	}
	s.handle("/", "", false, func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, &apiError{Status: http.StatusNotFound, Type: "invalid_request_error", Code: strp("not_found"),
			Message: fmt.Sprintf("no such endpoint: %s %s", r.Method, r.URL.Path)})
	})
	return s
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.guard(w, r) {
		s.mux.ServeHTTP(w, r)
	}
}

// Metrics returns the server's metrics.
func (s *Server) Metrics() *metrics.Metrics { return s.opt.Metrics }

// handle registers h for pattern, checking the method ("" for any) and,
// when auth is set, the API key, and counting the request.
func (s *Server) handle(pattern, method string, auth bool, h http.HandlerFunc) {
	label := strings.TrimSuffix(pattern, "{$}")
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		cw := &countingWriter{ResponseWriter: w, code: http.StatusOK}
		defer func() {
			s.opt.Metrics.CountRequest(label, cw.code)
			s.opt.Metrics.AddHTTPBytes(0, cw.n)
		}()
		if method != "" && r.Method != method && !(method == http.MethodGet && r.Method == http.MethodHead) {
			cw.Header().Set("Allow", method)
			s.writeError(cw, &apiError{Status: http.StatusMethodNotAllowed, Type: "invalid_request_error", Code: strp("method_not_allowed"),
				Message: fmt.Sprintf("%s %s is not allowed; use %s", r.Method, r.URL.Path, method)})
			return
		}
		if auth && s.auth && !s.authorized(r) {
			cw.Header().Set("WWW-Authenticate", `Bearer realm="orbit"`)
			s.writeError(cw, &apiError{Status: http.StatusUnauthorized, Type: "invalid_request_error", Code: strp("invalid_api_key"),
				Message: "missing or wrong API key: send Authorization: Bearer KEY"})
			return
		}
		h(cw, r)
	})
}

// countingWriter records the status code and counts bytes written. It
// passes flushes through for streaming.
type countingWriter struct {
	http.ResponseWriter
	code    int
	n       int64
	written bool
}

func (c *countingWriter) WriteHeader(code int) {
	if !c.written {
		c.code, c.written = code, true
	}
	c.ResponseWriter.WriteHeader(code)
}

func (c *countingWriter) Write(p []byte) (int, error) {
	c.written = true
	n, err := c.ResponseWriter.Write(p)
	c.n += int64(n)
	return n, err
}

func (c *countingWriter) Flush() { _ = http.NewResponseController(c.ResponseWriter).Flush() }

func (c *countingWriter) Unwrap() http.ResponseWriter { return c.ResponseWriter }

// writeJSON writes v with status code.
func (s *Server) writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		s.log.Error("encoding a response", "err", err)
		code, b = http.StatusInternalServerError, []byte(`{"error":{"message":"internal error encoding the response","type":"server_error","param":null,"code":null}}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_, _ = w.Write(append(b, '\n'))
}

func (s *Server) writeError(w http.ResponseWriter, e *apiError) {
	if (e.Status == http.StatusServiceUnavailable || e.Status == http.StatusTooManyRequests) && !e.noRetry {
		w.Header().Set("Retry-After", "1")
	}
	s.writeJSON(w, e.Status, ErrorBody{Error: e.detail()})
}

func (e *apiError) detail() ErrorDetail {
	return ErrorDetail{Message: e.Message, Type: e.Type, Param: e.Param, Code: e.Code}
}

// toAPIError maps backend errors to HTTP errors.
func toAPIError(err error) *apiError {
	var ae *apiError
	switch {
	case errors.As(err, &ae):
		return ae
	case errors.Is(err, ErrUnknownModel):
		return &apiError{Status: http.StatusNotFound, Type: "invalid_request_error", Param: strp("model"), Code: strp("model_not_found"), Message: err.Error()}
	case errors.Is(err, ErrCoverageGap):
		var ge *CoverageGapError
		joining := errors.As(err, &ge) && ge.Joining
		msg := err.Error()
		if ge != nil {
			msg = ge.Error()
		}
		return &apiError{Status: http.StatusServiceUnavailable, Type: "server_error", Code: strp("coverage_gap"), Message: msg, noRetry: !joining}
	case errors.Is(err, ErrBusy):
		return &apiError{Status: http.StatusServiceUnavailable, Type: "server_error", Code: strp("server_busy"), Message: "the node is busy; retry later: " + err.Error()}
	case errors.Is(err, ErrContextLength):
		return &apiError{Status: http.StatusBadRequest, Type: "invalid_request_error", Param: strp("messages"), Code: strp("context_length_exceeded"), Message: err.Error()}
	case errors.Is(err, ErrBadRequest):
		return &apiError{Status: http.StatusBadRequest, Type: "invalid_request_error", Message: err.Error()}
	case errors.Is(err, context.DeadlineExceeded):
		return &apiError{Status: http.StatusGatewayTimeout, Type: "server_error", Code: strp("timeout"), Message: err.Error()}
	}
	return &apiError{Status: http.StatusInternalServerError, Type: "server_error", Message: err.Error()}
}

// readBody checks the content type (application/json, required) and
// reads a capped body within the body timeout.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request) ([]byte, *apiError) {
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		// A browser page may send a "simple" cross-site request without
		// a Content-Type (or with text/plain); JSON clients send it.
		return nil, &apiError{Status: http.StatusUnsupportedMediaType, Type: "invalid_request_error", Code: strp("unsupported_media_type"),
			Message: "the request has no Content-Type; send Content-Type: application/json"}
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil || mt != "application/json" {
		return nil, &apiError{Status: http.StatusUnsupportedMediaType, Type: "invalid_request_error", Code: strp("unsupported_media_type"),
			Message: fmt.Sprintf("Content-Type %q is not supported; send application/json", ct)}
	}
	rc := http.NewResponseController(w)
	if err := rc.SetReadDeadline(time.Now().Add(s.opt.BodyTimeout)); err == nil {
		// The deadline covers the body only: once read, a long generation
		// must not be cut by it.
		defer func() { _ = rc.SetReadDeadline(time.Time{}) }()
	}
	body := http.MaxBytesReader(w, r.Body, s.opt.MaxBodyBytes)
	data, err := io.ReadAll(body)
	s.opt.Metrics.AddHTTPBytes(int64(len(data)), 0)
	if err != nil {
		var mbe *http.MaxBytesError
		var ne net.Error
		switch {
		case errors.As(err, &mbe):
			return nil, &apiError{Status: http.StatusRequestEntityTooLarge, Type: "invalid_request_error", Code: strp("request_too_large"),
				Message: fmt.Sprintf("the request body exceeds %d bytes", mbe.Limit)}
		case errors.As(err, &ne) && ne.Timeout():
			w.Header().Set("Connection", "close")
			return nil, &apiError{Status: http.StatusRequestTimeout, Type: "invalid_request_error", Code: strp("request_timeout"),
				Message: fmt.Sprintf("the request body took longer than %v to arrive", s.opt.BodyTimeout)}
		}
		return nil, &apiError{Status: http.StatusBadRequest, Type: "invalid_request_error", Message: fmt.Sprintf("reading the request body: %v", err)}
	}
	return data, nil
}

// minModelPrefix is the shortest prefix of a model ID that names it: every
// CIDv1 in base32 starts with the same few characters ("bafkrei"), so a
// shorter prefix would match any model.
const minModelPrefix = 8

// resolveModel returns the model's info; an empty name picks the only
// model when there is exactly one. A model is named by its ID (the root
// CID on a swarm node), its name (general.name, as orbit serve's ID is),
// or an unambiguous prefix of its ID of at least minModelPrefix characters.
func (s *Server) resolveModel(ctx context.Context, name string) (ModelInfo, error) {
	models, err := s.b.Models(ctx)
	if err != nil {
		return ModelInfo{}, fmt.Errorf("api: listing models: %w", err)
	}
	if name == "" {
		if len(models) == 1 {
			return models[0], nil
		}
		return ModelInfo{}, badRequest("model", "missing_model", "model is required (this node serves %d models; see /v1/models)", len(models))
	}
	m, err := matchModel(models, name)
	if err != nil {
		return ModelInfo{}, err
	}
	return m, nil
}

// matchModel finds name among models: an ID first, then a name, then an
// ID prefix; a name or prefix that fits several models is an error that
// lists them.
func matchModel(models []ModelInfo, name string) (ModelInfo, error) {
	for _, m := range models {
		if m.ID == name {
			return m, nil
		}
	}
	for _, match := range []func(ModelInfo) bool{
		func(m ModelInfo) bool { return m.Name != "" && m.Name == name },
		func(m ModelInfo) bool { return len(name) >= minModelPrefix && strings.HasPrefix(m.ID, name) },
	} {
		var found []ModelInfo
		for _, m := range models {
			if match(m) {
				found = append(found, m)
			}
		}
		switch len(found) {
		case 0:
			continue
		case 1:
			return found[0], nil
		}
		ids := make([]string, len(found))
		for i, m := range found {
			ids[i] = m.ID
		}
		return ModelInfo{}, badRequest("model", "ambiguous_model", "the model %q names %d models (%s); give the ID", name, len(found), strings.Join(ids, ", "))
	}
	return ModelInfo{}, &apiError{Status: http.StatusNotFound, Type: "invalid_request_error", Param: strp("model"), Code: strp("model_not_found"),
		Message: fmt.Sprintf("the model %q does not exist on this node (see /v1/models)", name)}
}

func newID(prefix string) string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

// CheckListenAddr reports whether the server may listen on addr: any
// address but a loopback one needs an API key.
func CheckListenAddr(addr, apiKey string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("api: listen address %q: %w", addr, err)
	}
	if apiKey != "" || isLoopback(host) {
		return nil
	}
	return fmt.Errorf("api: listening on %q (not a loopback address) needs an API key (--api-key or ORBIT_API_KEY)", addr)
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// ListenAndServe listens on addr (see CheckListenAddr) and serves until ctx
// is done, then shuts down; requests in flight are cancelled.
func (s *Server) ListenAndServe(ctx context.Context, addr string) error {
	if err := CheckListenAddr(addr, s.opt.APIKey); err != nil {
		return err
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("api: %w", err)
	}
	return s.Serve(ctx, ln)
}

// Serve serves on ln until ctx is done. It does not check the address;
// a server without an API key answers requests for the listener's address
// (besides loopback names).
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	s.addHost(ln.Addr().String())
	srv := &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		BaseContext:       func(net.Listener) context.Context { return ctx },
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("api: serve: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		_ = srv.Close()
	}
	<-errc
	return nil
}
