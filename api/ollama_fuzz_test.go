package api

import (
	"errors"
	"testing"
)

// FuzzOllamaRequest: any body decodes to a request whose options give
// valid sampling parameters, or to a clear 400.
func FuzzOllamaRequest(f *testing.F) {
	for _, s := range []string{`{"model":"m","prompt":"hi","options":{"temperature":0.5,"num_predict":5,"stop":["\n"]}}`,
		`{"prompt":"x","options":{"top_k":-1}}`, `{"options":null}`, `{`, `[]`, `{"options":{"seed":-7,"min_p":0.2}}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var req OllamaGenerateRequest
		if err := decodeJSON(data, &req); err != nil {
			var ae *apiError
			if !errors.As(err, &ae) || ae.Status != 400 {
				t.Fatalf("decoding error %v is not a 400", err)
			}
			return
		}
		sp, err := req.Options.sampling()
		if err != nil {
			var ae *apiError
			if !errors.As(err, &ae) || ae.Status != 400 || ae.Message == "" {
				t.Fatalf("options error %v is not a clear 400", err)
			}
			return
		}
		if err := sp.params().Validate(); err != nil {
			t.Fatalf("accepted options with invalid params: %v", err)
		}
		if sp.maxTokens(0) < 0 {
			t.Fatal("negative num_predict accepted as a limit")
		}
	})
}
