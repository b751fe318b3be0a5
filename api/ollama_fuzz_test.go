package api

import (
	"encoding/json"
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

// FuzzOllamaChatRequest: any /api/chat body decodes to messages whose
// calls have JSON object arguments and whose tool messages answer a call
// id, or to a clear 400.
func FuzzOllamaChatRequest(f *testing.F) {
	for _, s := range []string{
		`{"messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function","function":{"name":"f"}}]}`,
		`{"messages":[{"role":"assistant","content":"","tool_calls":[{"function":{"name":"f","arguments":{"a":1}}}]},{"role":"tool","tool_name":"f","content":"1"}]}`,
		`{"messages":[{"role":"assistant","tool_calls":[{"id":"x","function":{"name":"f","arguments":"{\"a\":[1]}"}}]},{"role":"tool","content":"2"},{"role":"tool","content":"3"}]}`,
		`{"messages":[{"role":"tool","content":"x"}],"think":"high"}`, `{"messages":[{"role":"user","tool_calls":[{}]}]}`, `{`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		isBadRequest := func(err error) {
			var ae *apiError
			if !errors.As(err, &ae) || ae.Status != 400 || ae.Message == "" {
				t.Fatalf("error %v is not a clear 400", err)
			}
		}
		var req OllamaChatRequest
		if err := decodeJSON(data, &req); err != nil {
			isBadRequest(err)
			return
		}
		_ = ollamaThink(req.Think)
		if err := validateTools(req.Tools); err != nil {
			isBadRequest(err)
			return
		}
		msgs, err := ollamaMessages(req.Messages)
		if err != nil {
			isBadRequest(err)
			return
		}
		for _, m := range msgs {
			for _, c := range m.ToolCalls {
				var obj map[string]any
				if c.ID == "" || c.Function.Name == "" || json.Unmarshal([]byte(c.Function.Arguments), &obj) != nil || obj == nil {
					t.Fatalf("call %+v from %s", c, data)
				}
			}
			if m.Role == "tool" && m.ToolCallID == "" {
				t.Fatalf("tool message without a call id from %s", data)
			}
		}
	})
}

// FuzzToolChoice: any tool_choice is a choice or a clear 400.
func FuzzToolChoice(f *testing.F) {
	for _, s := range []string{`"auto"`, `"required"`, `{"type":"function","function":{"name":"f"}}`, `{"type":"function"}`, `7`, `null`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		c, err := parseToolChoice(raw)
		if err != nil {
			var ae *apiError
			if !errors.As(err, &ae) || ae.Status != 400 || ae.Param == nil || *ae.Param != "tool_choice" {
				t.Fatalf("error %v is not a 400 about tool_choice", err)
			}
			return
		}
		if (c.mode == choiceNamed) != (c.name != "") {
			t.Fatalf("choice %+v from %s", c, raw)
		}
	})
}
