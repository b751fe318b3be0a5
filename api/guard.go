package api

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// DefaultBodyTimeout is how long a client may take to send a request
// body (Options.BodyTimeout).
const DefaultBodyTimeout = 30 * time.Second

// SessionCookie is the cookie that POST /api/v1/session sets for the
// dashboard: it stands for the API key (an HMAC of it, not the key), is
// HttpOnly and SameSite=Strict, so pages of other sites can neither read
// nor send it.
const SessionCookie = "orbit_session"

// guard refuses, before any handler runs, the requests a web page the
// user opens could make against a node on loopback:
//   - without an API key, a Host that is not a loopback name or address or
//     one of the server's own (DNS rebinding: a name of the attacker's
//     that resolves to 127.0.0.1 reaches the node with that name as Host);
//   - a browser request from another origin (an Origin header other than
//     the node's own) unless Options.CORSOrigins allows it; allowed
//     origins get CORS headers and preflight answers.
//
// It reports whether the request may go on.
func (s *Server) guard(w http.ResponseWriter, r *http.Request) bool {
	if !s.auth && !s.hostAllowed(r.Host) {
		s.writeError(w, &apiError{Status: http.StatusForbidden, Type: "invalid_request_error", Code: strp("forbidden_host"),
			Message: fmt.Sprintf("Host %q is not this node's address; a node without an API key answers only loopback names (set --api-key to serve other names)", r.Host)})
		return false
	}
	origin := r.Header.Get("Origin")
	if origin == "" || s.sameOrigin(origin, r.Host) {
		return true
	}
	if !s.originAllowed(origin) {
		s.writeError(w, &apiError{Status: http.StatusForbidden, Type: "invalid_request_error", Code: strp("cross_origin"),
			Message: fmt.Sprintf("cross-origin requests from %s are refused; allow the origin with --cors-origin", origin)})
		return false
	}
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", origin)
	h.Add("Vary", "Origin")
	if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
		h.Set("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
		h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type")
		h.Set("Access-Control-Max-Age", "600")
		w.WriteHeader(http.StatusNoContent)
		return false
	}
	return true
}

// hostAllowed reports whether a keyless node answers requests for host
// (the Host header, with or without a port).
func (s *Server) hostAllowed(host string) bool {
	if host == "" {
		return true // HTTP/1.0 without Host: not a browser
	}
	h := host
	if hh, _, err := net.SplitHostPort(host); err == nil {
		h = hh
	}
	h = strings.TrimSuffix(strings.Trim(h, "[]"), ".")
	if isLoopback(h) || strings.HasSuffix(strings.ToLower(h), ".localhost") {
		return true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.ContainsFunc(s.hosts, func(a string) bool { return strings.EqualFold(a, h) || strings.EqualFold(a, host) })
}

// sameOrigin reports whether origin (scheme://host[:port]) is the node's
// own: its host and port are the request's Host.
func (s *Server) sameOrigin(origin, host string) bool {
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return false
	}
	return strings.EqualFold(u.Host, host)
}

func (s *Server) originAllowed(origin string) bool {
	for _, o := range s.opt.CORSOrigins {
		if o == "*" || strings.EqualFold(strings.TrimSuffix(o, "/"), origin) {
			return true
		}
	}
	return false
}

// addHost lets a keyless server answer requests for host (an address it
// listens on).
func (s *Server) addHost(hostport string) {
	h := hostport
	if hh, _, err := net.SplitHostPort(hostport); err == nil {
		h = hh
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hosts = append(s.hosts, h, hostport)
}

// sessionValue is the session cookie's value for the API key.
func sessionValue(key string) string {
	m := hmac.New(sha256.New, []byte(key))
	m.Write([]byte("orbit dashboard session v1"))
	return hex.EncodeToString(m.Sum(nil))
}

// authorized reports whether r carries the API key: as a Bearer token, or
// as the session cookie that POST /api/v1/session sets. A key in the URL
// (?key=) is not accepted: URLs land in histories and logs.
func (s *Server) authorized(r *http.Request) bool {
	if tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		sum := sha256.Sum256([]byte(strings.TrimSpace(tok)))
		return subtle.ConstantTimeCompare(sum[:], s.key[:]) == 1
	}
	if c, err := r.Cookie(SessionCookie); err == nil {
		sum := sha256.Sum256([]byte(c.Value))
		return subtle.ConstantTimeCompare(sum[:], s.session[:]) == 1
	}
	return false
}

// newSession answers POST /api/v1/session, which the handler reaches only
// with the API key (or without one set): it sets the session cookie so the
// dashboard's later requests need not carry the key.
func (s *Server) newSession(w http.ResponseWriter, r *http.Request) {
	if s.auth {
		http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: sessionValue(s.opt.APIKey), Path: "/",
			HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil})
	}
	w.WriteHeader(http.StatusNoContent)
}
