// Package client talks to an Orbit node over HTTP: the node API
// (status, peers, models, route, metrics) and the OpenAI-compatible
// endpoints, streaming included. It is what the orbit CLI uses.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/orbitswarm/orbit/api"
)

// DefaultURL is the address of a node's API on this machine.
const DefaultURL = "http://" + api.DefaultAddr

// maxResponse caps non-streamed response bodies.
const maxResponse = 16 << 20

// Client is a node API client. It is safe for concurrent use.
type Client struct {
	base *url.URL
	hc   *http.Client
	key  string
}

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient sets the HTTP client (default: one without a timeout;
// use contexts to bound calls).
func WithHTTPClient(hc *http.Client) Option { return func(c *Client) { c.hc = hc } }

// WithAPIKey sends key as a Bearer token.
func WithAPIKey(key string) Option { return func(c *Client) { c.key = key } }

// New returns a client of the node at baseURL, such as DefaultURL.
func New(baseURL string, opts ...Option) (*Client, error) {
	u, err := url.Parse(strings.TrimRight(baseURL, "/"))
	if err != nil {
		return nil, fmt.Errorf("client: node address %q: %w", baseURL, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("client: node address %q must be http://HOST:PORT or https://HOST:PORT", baseURL)
	}
	c := &Client{base: u, hc: &http.Client{}}
	for _, o := range opts {
		o(c)
	}
	return c, nil
}

// Error is an error response of the node.
type Error struct {
	Status int // HTTP status
	api.ErrorDetail
}

func (e *Error) Error() string {
	return fmt.Sprintf("node: %s (HTTP %d)", e.Message, e.Status)
}

// Unwrap maps the error to api.ErrUnknownModel, api.ErrContextLength,
// api.ErrCoverageGap, api.ErrBusy or api.ErrBadRequest where it applies.
func (e *Error) Unwrap() error {
	switch {
	case e.Code != nil && *e.Code == "model_not_found":
		return api.ErrUnknownModel
	case e.Code != nil && *e.Code == "context_length_exceeded":
		return api.ErrContextLength
	case e.Code != nil && *e.Code == "coverage_gap":
		return api.ErrCoverageGap
	case e.Status == http.StatusServiceUnavailable || e.Status == http.StatusTooManyRequests:
		return api.ErrBusy
	case e.Status == http.StatusBadRequest:
		return api.ErrBadRequest
	}
	return nil
}

// do sends a request and returns the response if its status is 200.
func (c *Client) do(ctx context.Context, method, path string, query url.Values, body any) (*http.Response, error) {
	u := *c.base
	u.Path += path
	u.RawQuery = query.Encode()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, fmt.Errorf("client: encoding the request: %w", err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return nil, fmt.Errorf("client: %w", err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.key != "" {
		req.Header.Set("Authorization", "Bearer "+c.key)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("client: %s %s: %w", method, path, err)
	}
	if resp.StatusCode != http.StatusOK {
		defer resp.Body.Close()
		return nil, readError(resp)
	}
	return resp, nil
}

// readError decodes an error response, or describes a non-JSON one.
func readError(resp *http.Response) error {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var eb api.ErrorBody
	if err := json.Unmarshal(b, &eb); err == nil && eb.Error.Message != "" {
		return &Error{Status: resp.StatusCode, ErrorDetail: eb.Error}
	}
	msg := strings.TrimSpace(string(b))
	if msg == "" {
		msg = http.StatusText(resp.StatusCode)
	}
	return &Error{Status: resp.StatusCode, ErrorDetail: api.ErrorDetail{Message: msg, Type: "http_error"}}
}

// getJSON fetches path into v.
func (c *Client) getJSON(ctx context.Context, path string, q url.Values, v any) error {
	resp, err := c.do(ctx, http.MethodGet, path, q, nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return decode(resp.Body, v)
}

func decode(r io.Reader, v any) error {
	if err := json.NewDecoder(io.LimitReader(r, maxResponse)).Decode(v); err != nil {
		return fmt.Errorf("client: decoding the response: %w", err)
	}
	return nil
}

// Status returns the node's status.
func (c *Client) Status(ctx context.Context) (api.NodeStatus, error) {
	var st api.NodeStatus
	err := c.getJSON(ctx, "/api/v1/status", nil, &st)
	return st, err
}

// Peers lists the peers the node knows.
func (c *Client) Peers(ctx context.Context) ([]api.PeerInfo, error) {
	var r api.PeersResponse
	err := c.getJSON(ctx, "/api/v1/peers", nil, &r)
	return r.Peers, err
}

// Models lists the models the node serves, with per-block coverage.
func (c *Client) Models(ctx context.Context) ([]api.ModelInfo, error) {
	var r api.ModelsResponse
	err := c.getJSON(ctx, "/api/v1/models", nil, &r)
	return r.Models, err
}

// Route returns the hops a request for model would take.
func (c *Client) Route(ctx context.Context, model string) ([]api.RouteHop, error) {
	var r api.RouteResponse
	err := c.getJSON(ctx, "/api/v1/route", url.Values{"model": {model}}, &r)
	return r.Hops, err
}

// History returns the node's recent activity (/api/v1/history).
func (c *Client) History(ctx context.Context) (api.HistoryResponse, error) {
	var h api.HistoryResponse
	err := c.getJSON(ctx, "/api/v1/history", nil, &h)
	return h, err
}

// KVCache lists the KV caches of the node's servers (/api/v1/kv).
func (c *Client) KVCache(ctx context.Context) ([]api.KVCacheUse, error) {
	var r api.KVCacheResponse
	err := c.getJSON(ctx, "/api/v1/kv", nil, &r)
	return r.Servers, err
}

// Metrics returns the node's Prometheus metrics text.
func (c *Client) Metrics(ctx context.Context) (string, error) {
	resp, err := c.do(ctx, http.MethodGet, "/metrics", nil, nil)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return "", fmt.Errorf("client: reading metrics: %w", err)
	}
	return string(b), nil
}

// OpenAIModels lists /v1/models.
func (c *Client) OpenAIModels(ctx context.Context) ([]api.OpenAIModel, error) {
	var r api.ModelList
	err := c.getJSON(ctx, "/v1/models", nil, &r)
	return r.Data, err
}

// Sampling holds the optional generation parameters; nil fields are left
// to the server's defaults.
type Sampling struct {
	MaxTokens        *int     `json:"max_tokens,omitempty"`
	Temperature      *float64 `json:"temperature,omitempty"`
	TopP             *float64 `json:"top_p,omitempty"`
	PresencePenalty  *float64 `json:"presence_penalty,omitempty"`
	FrequencyPenalty *float64 `json:"frequency_penalty,omitempty"`
	Seed             *int64   `json:"seed,omitempty"`
	Stop             []string `json:"stop,omitempty"`
	// N asks for N choices (each with its Index).
	N *int `json:"n,omitempty"`
}

// CompletionRequest is a /v1/completions request.
type CompletionRequest struct {
	Model  string `json:"model,omitempty"`
	Prompt string `json:"prompt"`
	Sampling
}

// ChatRequest is a /v1/chat/completions request.
type ChatRequest struct {
	Model    string            `json:"model,omitempty"`
	Messages []api.ChatMessage `json:"-"`
	Sampling
}

type wireMessage struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

func (r ChatRequest) wire(stream bool) any {
	msgs := make([]wireMessage, len(r.Messages))
	for i, m := range r.Messages {
		msgs[i] = wireMessage{Role: m.Role, Content: m.Content}
	}
	return struct {
		Model    string        `json:"model,omitempty"`
		Messages []wireMessage `json:"messages"`
		Sampling
		Stream        bool `json:"stream,omitempty"`
		StreamOptions any  `json:"stream_options,omitempty"`
	}{r.Model, msgs, r.Sampling, stream, streamOptions(stream)}
}

func streamOptions(stream bool) any {
	if !stream {
		return nil
	}
	return map[string]bool{"include_usage": true}
}

func (r CompletionRequest) wire(stream bool) any {
	return struct {
		CompletionRequest
		Stream        bool `json:"stream,omitempty"`
		StreamOptions any  `json:"stream_options,omitempty"`
	}{r, stream, streamOptions(stream)}
}

// Complete runs a completion.
func (c *Client) Complete(ctx context.Context, req CompletionRequest) (*api.Completion, error) {
	resp, err := c.do(ctx, http.MethodPost, "/v1/completions", nil, req.wire(false))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var out api.Completion
	if err := decode(resp.Body, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// CompleteStream runs a streamed completion, passing each chunk to fn (the
// last has the finish reason and the usage). An error of fn ends the
// stream, which cancels the generation, and is returned.
func (c *Client) CompleteStream(ctx context.Context, req CompletionRequest, fn func(api.Completion) error) error {
	resp, err := c.do(ctx, http.MethodPost, "/v1/completions", nil, req.wire(true))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return ReadEvents(resp.Body, func(data []byte) error {
		var ch api.Completion
		if err := json.Unmarshal(data, &ch); err != nil {
			return fmt.Errorf("client: decoding a chunk: %w", err)
		}
		return fn(ch)
	})
}

// Chat runs a chat completion.
func (c *Client) Chat(ctx context.Context, req ChatRequest) (*api.ChatCompletion, error) {
	resp, err := c.do(ctx, http.MethodPost, "/v1/chat/completions", nil, req.wire(false))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var out api.ChatCompletion
	if err := decode(resp.Body, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ChatStream runs a streamed chat completion, passing each chunk to fn.
func (c *Client) ChatStream(ctx context.Context, req ChatRequest, fn func(api.ChatChunk) error) error {
	resp, err := c.do(ctx, http.MethodPost, "/v1/chat/completions", nil, req.wire(true))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return ReadEvents(resp.Body, func(data []byte) error {
		var ch api.ChatChunk
		if err := json.Unmarshal(data, &ch); err != nil {
			return fmt.Errorf("client: decoding a chunk: %w", err)
		}
		return fn(ch)
	})
}

// ErrNoDone is returned by ReadEvents when the stream ends without
// "data: [DONE]".
var ErrNoDone = errors.New("client: the stream ended early (no [DONE])")
