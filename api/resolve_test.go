package api

import (
	"errors"
	"strings"
	"testing"
)

func TestMatchModel(t *testing.T) {
	models := []ModelInfo{
		{ID: "bafkreiaaaa1111", Name: "tiny"},
		{ID: "bafkreiaaaa2222", Name: "tiny"},
		{ID: "bafkreibbbb3333", Name: "llama"},
		{ID: "local-model", Name: ""},
	}
	for _, tc := range []struct {
		name, want, code string // want: the ID found; code: the error code
	}{
		{"bafkreiaaaa1111", "bafkreiaaaa1111", ""},  // an ID
		{"llama", "bafkreibbbb3333", ""},            // a name
		{"local-model", "local-model", ""},          // a plain ID
		{"bafkreibb", "bafkreibbbb3333", ""},        // an unambiguous prefix
		{"tiny", "", "ambiguous_model"},             // a name of two models
		{"bafkreiaaaa", "", "ambiguous_model"},      // a prefix of two models
		{"bafkrei", "", "model_not_found"},          // shorter than minModelPrefix
		{"local", "", "model_not_found"},            // a short prefix
		{"bafkreibbbb3333x", "", "model_not_found"}, // longer than any ID
		{"", "", "model_not_found"},
	} {
		m, err := matchModel(models, tc.name)
		if tc.code == "" {
			if err != nil || m.ID != tc.want {
				t.Errorf("%q: %+v, %v; want %s", tc.name, m, err, tc.want)
			}
			continue
		}
		var ae *apiError
		if !errors.As(err, &ae) || ae.Code == nil || *ae.Code != tc.code || ae.Param == nil || *ae.Param != "model" {
			t.Errorf("%q: %+v, %v; want error code %s", tc.name, m, err, tc.code)
		}
	}
}

// TestErrorParams: a decoding error names the field as the client wrote
// it, not as Go's embedded struct path (Sampling.max_tokens).
func TestErrorParams(t *testing.T) {
	for _, tc := range []struct{ body, param string }{
		{`{"prompt":"a","max_tokens":"ten"}`, "max_tokens"},
		{`{"temperature":"hot"}`, "temperature"},
		{`{"stream_options":{"include_usage":3}}`, "stream_options.include_usage"},
		{`{"model":7}`, "model"},
		{`{"seed":1.5}`, "seed"},
	} {
		_, err := ParseCompletionRequest([]byte(tc.body))
		var ae *apiError
		if !errors.As(err, &ae) || ae.Param == nil || *ae.Param != tc.param {
			t.Errorf("%s: %+v, want param %q", tc.body, err, tc.param)
			continue
		}
		if want := `field "` + tc.param + `"`; !strings.Contains(ae.Message, want) {
			t.Errorf("%s: message %q does not say %s", tc.body, ae.Message, want)
		}
	}
	_, _, err := ParseChatRequest([]byte(`{"messages":[{"role":"user","content":"a"}],"max_completion_tokens":"x"}`))
	var ae *apiError
	if !errors.As(err, &ae) || ae.Param == nil || *ae.Param != "max_completion_tokens" {
		t.Errorf("chat: %v, want param max_completion_tokens", err)
	}
}
