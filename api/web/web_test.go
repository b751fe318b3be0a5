package web

import (
	"io/fs"
	"net/http"
	"net/http/httptest"
	"regexp"
	"testing"
)

func TestAssetsOffline(t *testing.T) {
	external := regexp.MustCompile(`(?i)(src|href)\s*=\s*["']?(https?:)?//|https?://|@import`)
	for _, name := range []string{"index.html", "assets/app.js", "assets/style.css"} {
		b, err := fs.ReadFile(FS(), name)
		if err != nil {
			t.Fatal(err)
		}
		if m := external.Find(b); m != nil {
			t.Errorf("%s refers to an external resource: %q", name, m)
		}
	}
}

func TestHandler(t *testing.T) {
	h := Handler()
	for _, tc := range []struct {
		path string
		code int
		ct   string
	}{
		{"/", 200, "text/html; charset=utf-8"},
		{"/assets/app.js", 200, "text/javascript; charset=utf-8"},
		{"/assets/style.css", 200, "text/css; charset=utf-8"},
		{"/assets/nope.js", 404, ""},
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, tc.path, nil))
		if rec.Code != tc.code || (tc.ct != "" && rec.Header().Get("Content-Type") != tc.ct) {
			t.Errorf("%s: %d %q", tc.path, rec.Code, rec.Header().Get("Content-Type"))
		}
	}
}
