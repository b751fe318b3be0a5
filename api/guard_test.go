package api_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/orbitswarm/orbit/api"
	"github.com/orbitswarm/orbit/api/client"
)

// do sends method path with headers to base and returns the status, the
// error code (if any) and the response.
func do(t *testing.T, base, method, path, body string, hdr map[string]string) (int, string, *http.Response) {
	t.Helper()
	req, err := http.NewRequest(method, base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		if k == "Host" {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var eb api.ErrorBody
	_ = json.Unmarshal(b, &eb)
	code := ""
	if eb.Error.Code != nil {
		code = *eb.Error.Code
	}
	return resp.StatusCode, code, resp
}

// TestHostGuard: a node without an API key answers loopback names and its
// own addresses only (DNS rebinding); with a key, any Host.
func TestHostGuard(t *testing.T) {
	b, _, _ := newLocal(t, api.LocalOptions{})
	keyless, _ := serve(t, b, api.Options{Hosts: []string{"mynode.lan"}})
	keyed, _ := serve(t, b, api.Options{APIKey: "k"})
	for _, tc := range []struct {
		host string
		want int
	}{
		{"", 200}, // the URL's own (127.0.0.1:port)
		{"localhost:7717", 200},
		{"LOCALHOST", 200},
		{"[::1]:7717", 200},
		{"127.0.0.2:80", 200},
		{"dash.localhost:7717", 200},
		{"mynode.lan:7717", 200},
		{"attacker.example:7717", 403},
		{"attacker.example", 403},
		{"10.0.0.5:7717", 403},
		{"localhost.attacker.example", 403},
	} {
		for _, path := range []string{"/api/v1/status", "/v1/models", "/"} {
			hdr := map[string]string{}
			if tc.host != "" {
				hdr["Host"] = tc.host
			}
			status, code, _ := do(t, keyless.URL, "GET", path, "", hdr)
			if status != tc.want || (tc.want == 403 && code != "forbidden_host") {
				t.Errorf("keyless, Host %q, %s: HTTP %d %s, want %d", tc.host, path, status, code, tc.want)
			}
		}
		hdr := map[string]string{"Authorization": "Bearer k"}
		if tc.host != "" {
			hdr["Host"] = tc.host
		}
		if status, _, _ := do(t, keyed.URL, "GET", "/api/v1/status", "", hdr); status != 200 {
			t.Errorf("with a key, Host %q: HTTP %d", tc.host, status)
		}
	}
}

// TestCrossOrigin: browser requests from other origins are refused unless
// allowed, which gets CORS headers and a preflight answer; the node's own
// pages (same origin) are served.
func TestCrossOrigin(t *testing.T) {
	b, _, _ := newLocal(t, api.LocalOptions{})
	ts, _ := serve(t, b, api.Options{CORSOrigins: []string{"http://app.example:3000"}})
	body := `{"prompt":"I dream","max_tokens":2}`
	jsonCT := map[string]string{"Content-Type": "application/json"}
	with := func(h map[string]string, kv ...string) map[string]string {
		out := map[string]string{}
		for k, v := range h {
			out[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			out[kv[i]] = kv[i+1]
		}
		return out
	}
	for _, tc := range []struct {
		name, method, path, body string
		hdr                      map[string]string
		want                     int
		code, allowOrigin        string
	}{
		{"same origin POST", "POST", "/v1/completions", body, with(jsonCT, "Origin", ts.URL), 200, "", ""},
		{"no origin (not a browser)", "POST", "/v1/completions", body, jsonCT, 200, "", ""},
		{"other origin POST", "POST", "/v1/completions", body, with(jsonCT, "Origin", "http://attacker.example"), 403, "cross_origin", ""},
		{"other origin GET", "GET", "/api/v1/status", "", map[string]string{"Origin": "http://attacker.example"}, 403, "cross_origin", ""},
		{"null origin", "POST", "/v1/completions", body, with(jsonCT, "Origin", "null"), 403, "cross_origin", ""},
		{"other port", "GET", "/api/v1/status", "", map[string]string{"Origin": "http://127.0.0.1:1"}, 403, "cross_origin", ""},
		{"allowed origin POST", "POST", "/v1/completions", body, with(jsonCT, "Origin", "http://app.example:3000"), 200, "", "http://app.example:3000"},
		{"allowed preflight", "OPTIONS", "/v1/chat/completions", "", map[string]string{"Origin": "http://app.example:3000", "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type,authorization"}, 204, "", "http://app.example:3000"},
		{"refused preflight", "OPTIONS", "/v1/chat/completions", "", map[string]string{"Origin": "http://attacker.example", "Access-Control-Request-Method": "POST"}, 403, "cross_origin", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, code, resp := do(t, ts.URL, tc.method, tc.path, tc.body, tc.hdr)
			if status != tc.want || code != tc.code {
				t.Fatalf("HTTP %d %q, want %d %q", status, code, tc.want, tc.code)
			}
			if got := resp.Header.Get("Access-Control-Allow-Origin"); got != tc.allowOrigin {
				t.Errorf("Access-Control-Allow-Origin %q, want %q", got, tc.allowOrigin)
			}
			if tc.method == "OPTIONS" && tc.want == 204 {
				if m, h := resp.Header.Get("Access-Control-Allow-Methods"), resp.Header.Get("Access-Control-Allow-Headers"); !strings.Contains(m, "POST") || !strings.Contains(h, "Authorization") || !strings.Contains(h, "Content-Type") {
					t.Errorf("preflight answer: methods %q headers %q", m, h)
				}
			}
		})
	}
}

// TestSlowBody: a client trickling its body is cut off after the body
// timeout (slowloris), while a generation running longer than that
// timeout after its body arrived is not.
func TestSlowBody(t *testing.T) {
	b, _, _ := newLocal(t, api.LocalOptions{})
	slow := newSlow(b, 20*time.Millisecond)
	ts, _ := serve(t, slow, api.Options{BodyTimeout: 300 * time.Millisecond})

	conn, err := net.Dial("tcp", ts.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	start := time.Now()
	if _, err := io.WriteString(conn, "POST /v1/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"); err != nil {
		t.Fatal(err)
	}
	stopTrickle := make(chan struct{})
	defer close(stopTrickle)
	go func() {
		for {
			select {
			case <-stopTrickle:
				return
			case <-time.After(100 * time.Millisecond):
				if _, err := conn.Write([]byte(" ")); err != nil {
					return
				}
			}
		}
	}()
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer to a trickled body: %v", err)
	}
	resp.Body.Close()
	if took := time.Since(start); resp.StatusCode != http.StatusRequestTimeout || took > 5*time.Second {
		t.Fatalf("a trickled body: HTTP %d after %v, want 408 after about 300ms", resp.StatusCode, took)
	}

	// A stream that runs 24 tokens x 20 ms, beyond the body timeout.
	c, _ := client.New(ts.URL)
	var n int
	err = c.CompleteStream(context.Background(), client.CompletionRequest{Prompt: "I dream of", Sampling: client.Sampling{MaxTokens: ptr(24), Temperature: ptr(0.0)}},
		func(api.Completion) error { n++; return nil })
	if err != nil || n < 10 {
		t.Fatalf("a generation longer than the body timeout: %d chunks, %v", n, err)
	}
}

// TestSessionCookie: the dashboard's key goes once to /api/v1/session, as
// a Bearer token; the HttpOnly, SameSite=Strict cookie it gets back
// authorizes later requests. A key in the URL is not accepted.
func TestSessionCookie(t *testing.T) {
	b, _, _ := newLocal(t, api.LocalOptions{})
	ts, _ := serve(t, b, api.Options{APIKey: "s3cret"})
	if status, _, _ := do(t, ts.URL, "POST", "/api/v1/session", "", map[string]string{"Authorization": "Bearer wrong"}); status != 401 {
		t.Fatalf("session with a wrong key: HTTP %d", status)
	}
	status, _, resp := do(t, ts.URL, "POST", "/api/v1/session", "", map[string]string{"Authorization": "Bearer s3cret"})
	if status != 204 {
		t.Fatalf("session: HTTP %d", status)
	}
	var cookie *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == api.SessionCookie {
			cookie = c
		}
	}
	if cookie == nil || !cookie.HttpOnly || cookie.SameSite != http.SameSiteStrictMode || cookie.Path != "/" || strings.Contains(cookie.Value, "s3cret") {
		t.Fatalf("session cookie %+v", cookie)
	}
	for _, tc := range []struct {
		name string
		hdr  map[string]string
		path string
		want int
	}{
		{"cookie", map[string]string{"Cookie": api.SessionCookie + "=" + cookie.Value}, "/api/v1/status", 200},
		{"cookie metrics", map[string]string{"Cookie": api.SessionCookie + "=" + cookie.Value}, "/metrics", 200},
		{"forged cookie", map[string]string{"Cookie": api.SessionCookie + "=" + strings.Repeat("0", len(cookie.Value))}, "/api/v1/status", 401},
		{"key in the URL", nil, "/api/v1/status?key=s3cret", 401},
		{"nothing", nil, "/api/v1/status", 401},
	} {
		if status, _, _ := do(t, ts.URL, "GET", tc.path, "", tc.hdr); status != tc.want {
			t.Errorf("%s: HTTP %d, want %d", tc.name, status, tc.want)
		}
	}
	// The dashboard neither reads a key from its URL nor keeps one.
	js, err := os.ReadFile("web/static/assets/app.js")
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{`params.get("key")`, `localStorage.setItem`, `state.key`} {
		if strings.Contains(string(js), bad) {
			t.Errorf("app.js still has %s", bad)
		}
	}
}
