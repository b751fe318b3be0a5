package api

import (
	"errors"
	"strings"
	"testing"
)

func TestParseCompletionRequest(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		wantErr    string // substring of the error; "" for success
		check      func(*CompletionRequest) bool
	}{
		{"string prompt", `{"model":"m","prompt":"hi","max_tokens":5,"stop":"\n"}`, "", func(r *CompletionRequest) bool {
			return r.prompt == "hi" && *r.MaxTokens == 5 && len(r.stops) == 1
		}},
		{"one-string array", `{"prompt":["hi"]}`, "", func(r *CompletionRequest) bool { return r.prompt == "hi" }},
		{"token ids", `{"prompt":[1,2,3]}`, "", func(r *CompletionRequest) bool { return r.isToken && len(r.tokens) == 3 }},
		{"no prompt", `{}`, "", func(r *CompletionRequest) bool { return r.prompt == "" && !r.isToken }},
		{"max_completion_tokens wins", `{"max_tokens":3,"max_completion_tokens":7}`, "", func(r *CompletionRequest) bool { return r.maxTokens(16) == 7 }},
		{"default max", `{}`, "", func(r *CompletionRequest) bool { return r.maxTokens(16) == 16 }},
		{"logprobs null is fine", `{"logprobs":null}`, "", nil},
		{"logprobs 0 is fine", `{"logprobs":0}`, "", nil},
		{"unknown fields ignored", `{"user":"u","logit_bias":{},"response_format":{"type":"text"}}`, "", nil},
		{"penalties", `{"frequency_penalty":0.5,"presence_penalty":-1}`, "", func(r *CompletionRequest) bool {
			p := r.params()
			return p.FrequencyPenalty == 0.5 && p.PresencePenalty == -1 && p.Validate() == nil
		}},
		{"presence_penalty too large", `{"presence_penalty":2.5}`, "presence_penalty must be between -2 and 2", nil},
		{"frequency_penalty too small", `{"frequency_penalty":-3}`, "frequency_penalty must be between -2 and 2", nil},
		{"seed and sampling", `{"seed":-3,"temperature":0.5,"top_p":0.9,"top_k":40,"min_p":0.1}`, "", func(r *CompletionRequest) bool {
			p := r.params()
			return p.Seed == uint64(1<<64-3) && p.Temperature == 0.5 && p.TopK == 40 && p.Validate() == nil
		}},
		{"malformed", `{"prompt":`, "malformed JSON", nil},
		{"logprobs 5", `{"logprobs":5}`, "", func(r *CompletionRequest) bool { return r.topLogprobs == 5 }},
		{"no logprobs", `{}`, "", func(r *CompletionRequest) bool { return r.topLogprobs == -1 }},
		{"logprobs 21", `{"logprobs":21}`, "logprobs must be between 0 and 20", nil},
		{"logprobs true", `{"logprobs":true}`, "logprobs must be an integer", nil},
		{"echo", `{"echo":true,"logprobs":1,"max_tokens":0}`, "", func(r *CompletionRequest) bool { return r.Echo && r.topLogprobs == 1 }},
		{"best_of", `{"best_of":3}`, "best_of", nil},
		{"best_of n", `{"best_of":3,"n":3}`, "", nil},
		{"n", `{"n":4}`, "", func(r *CompletionRequest) bool { return r.n() == 4 }},
		{"n 0", `{"n":0}`, "n must be between 1 and 64", nil},
		{"too many choices", `{"prompt":["a","b","c"],"n":30}`, "more than 64 choices", nil},
		{"string batch", `{"prompt":["a","b"]}`, "", func(r *CompletionRequest) bool { return len(r.batch) == 2 && r.batch[1].text == "b" }},
		{"token batch", `{"prompt":[[1,2],[3]]}`, "", func(r *CompletionRequest) bool {
			return len(r.batch) == 2 && r.batch[1].isToken && r.batch[1].tokens[0] == 3 && r.isToken
		}},
		{"empty token batch", `{"prompt":[[1],[]]}`, "empty array", nil},
		{"empty id array", `{"prompt":[]}`, "empty array", nil},
		{"mixed array", `{"prompt":["a",1]}`, "prompt must be", nil},
		{"NaN-ish temperature", `{"temperature":1e400}`, "", nil}, // overflow is a JSON error: checked below
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := ParseCompletionRequest([]byte(tc.body))
			if tc.name == "NaN-ish temperature" {
				if err == nil {
					t.Fatal("no error for 1e400")
				}
				return
			}
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want %q", err, tc.wantErr)
				}
				var ae *apiError
				if !errors.As(err, &ae) || ae.Status != 400 {
					t.Fatalf("not a 400 apiError: %#v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.check != nil && !tc.check(r) {
				t.Fatalf("unexpected parse: %+v", r)
			}
		})
	}
}

func TestParseChatLogprobs(t *testing.T) {
	for _, tc := range []struct {
		body    string
		top     int
		wantErr string
	}{
		{`{"messages":[{"role":"user","content":"a"}]}`, -1, ""},
		{`{"messages":[{"role":"user","content":"a"}],"logprobs":false}`, -1, ""},
		{`{"messages":[{"role":"user","content":"a"}],"logprobs":true}`, 0, ""},
		{`{"messages":[{"role":"user","content":"a"}],"logprobs":true,"top_logprobs":5}`, 5, ""},
		{`{"messages":[{"role":"user","content":"a"}],"top_logprobs":0}`, -1, ""},
		{`{"messages":[{"role":"user","content":"a"}],"top_logprobs":3}`, 0, "top_logprobs needs logprobs: true"},
		{`{"messages":[{"role":"user","content":"a"}],"logprobs":true,"top_logprobs":21}`, 0, "between 0 and 20"},
		{`{"messages":[{"role":"user","content":"a"}],"logprobs":1}`, 0, "logprobs must be a boolean"},
	} {
		r, _, err := ParseChatRequest([]byte(tc.body))
		switch {
		case tc.wantErr != "":
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%s: %v, want %q", tc.body, err, tc.wantErr)
			}
		case err != nil || r.topLogprobs != tc.top:
			t.Errorf("%s: %v, top %d, want %d", tc.body, err, r.topLogprobs, tc.top)
		}
	}
}

func TestParseChatRequest(t *testing.T) {
	_, msgs, err := ParseChatRequest([]byte(`{"messages":[{"role":"system","content":"s"},{"role":"user","content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]},{"role":"assistant","content":null}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 3 || msgs[1].Content != "ab" || msgs[2].Content != "" {
		t.Fatalf("%+v", msgs)
	}
	for _, body := range []string{`{"messages":null}`, `{"messages":[{"role":"user","content":5}]}`, `{"messages":[{"role":"tool","content":"x"}]}`, `{"messages":[{}]}`} {
		if _, _, err := ParseChatRequest([]byte(body)); err == nil {
			t.Errorf("%s: no error", body)
		}
	}
}

func FuzzParseCompletionRequest(f *testing.F) {
	for _, s := range []string{`{"prompt":"hi","max_tokens":5}`, `{"prompt":[1,2]}`, `{"stop":["a","b"],"temperature":0.2}`, `{`, `null`, `[]`, `{"logprobs":{}}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := ParseCompletionRequest(data)
		if err != nil {
			var ae *apiError
			if !errors.As(err, &ae) || ae.Status != 400 || ae.Message == "" {
				t.Fatalf("error %v is not a clear 400", err)
			}
			return
		}
		// A valid request gives valid sampling parameters.
		if err := r.params().Validate(); err != nil {
			t.Fatalf("accepted request with invalid params: %v", err)
		}
		if r.maxTokens(16) < 0 {
			t.Fatal("negative max tokens accepted")
		}
	})
}

func FuzzParseChatRequest(f *testing.F) {
	for _, s := range []string{`{"messages":[{"role":"user","content":"hi"}]}`, `{"messages":[{"role":"user","content":[{"type":"text","text":"x"}]}],"stream":true}`, `{"messages":"x"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r, msgs, err := ParseChatRequest(data)
		if err != nil {
			var ae *apiError
			if !errors.As(err, &ae) || ae.Status != 400 || ae.Message == "" {
				t.Fatalf("error %v is not a clear 400", err)
			}
			return
		}
		if len(msgs) == 0 {
			t.Fatal("accepted no messages")
		}
		if err := r.params().Validate(); err != nil {
			t.Fatalf("accepted invalid params: %v", err)
		}
		for _, fam := range []ChatFamily{ChatLlama3, ChatML, ChatPhi3, ChatLlama2, ChatFallback} {
			if _, err := (ChatTemplate{Family: fam}).Render(msgs); err != nil {
				t.Fatalf("%s: parsed messages do not render: %v", fam, err)
			}
		}
	})
}
