package api_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/orbitswarm/orbit/api"
)

// isJSONObject reports whether s is one JSON object.
func isJSONObject(s string) bool {
	var m map[string]any
	return json.Unmarshal([]byte(s), &m) == nil && m != nil
}

// TestJSONFormat asks the real tiny model for JSON over HTTP, by every
// endpoint, greedy and sampled with seeds, with room to spare and with a
// few tokens only: every output is one JSON object.
func TestJSONFormat(t *testing.T) {
	b, _, _ := newLocal(t, api.LocalOptions{})
	ts, _ := serve(t, b, api.Options{})
	prompts := []string{"I dream of", "Once upon a time", "The cat", ""}
	type sampling struct {
		temp float64
		seed int64
	}
	samplings := []sampling{{0, 0}, {0.8, 1}, {1.5, 7}, {1.0, 42}}
	for _, maxTok := range []int{400, 24} {
		for _, prompt := range prompts {
			for _, sm := range samplings {
				name := fmt.Sprintf("max%d/%q/t%v-s%d", maxTok, prompt, sm.temp, sm.seed)
				t.Run(name+"/completions", func(t *testing.T) {
					var out api.Completion
					postJSON(t, ts.URL, "/v1/completions", map[string]any{
						"model": testModelID, "prompt": prompt, "max_tokens": maxTok, "temperature": sm.temp, "seed": sm.seed,
						"response_format": map[string]string{"type": "json_object"},
					}, &out)
					c := out.Choices[0]
					if !isJSONObject(c.Text) || *c.FinishReason != "stop" {
						t.Fatalf("output %q (finish %s) is not one JSON object", c.Text, *c.FinishReason)
					}
					if out.Usage.CompletionTokens > maxTok {
						t.Fatalf("%d tokens, max %d", out.Usage.CompletionTokens, maxTok)
					}
				})
				t.Run(name+"/chat", func(t *testing.T) {
					var out api.ChatCompletion
					postJSON(t, ts.URL, "/v1/chat/completions", map[string]any{
						"model": testModelID, "messages": []map[string]string{{"role": "user", "content": prompt + "?"}},
						"max_tokens": maxTok, "temperature": sm.temp, "seed": sm.seed,
						"response_format": map[string]string{"type": "json_object"},
					}, &out)
					if c := out.Choices[0].Message.Content; !isJSONObject(c) {
						t.Fatalf("output %q is not one JSON object", c)
					}
				})
				t.Run(name+"/ollama", func(t *testing.T) {
					var out api.OllamaResponse
					postJSON(t, ts.URL, "/api/generate", map[string]any{
						"model": testModelID, "prompt": prompt, "stream": false, "format": "json",
						"options": map[string]any{"num_predict": maxTok, "temperature": sm.temp, "seed": sm.seed},
					}, &out)
					if !isJSONObject(*out.Response) || out.DoneReason != "stop" {
						t.Fatalf("output %q (done %s) is not one JSON object", *out.Response, out.DoneReason)
					}
				})
			}
		}
	}
}

// TestJSONFormatDeterministic: greedy and seeded JSON outputs repeat, and
// streamed output (OpenAI and ollama chat) is the same text.
func TestJSONFormatDeterministic(t *testing.T) {
	b, _, _ := newLocal(t, api.LocalOptions{})
	ts, _ := serve(t, b, api.Options{})
	for _, temp := range []float64{0, 1} {
		body := map[string]any{
			"model": testModelID, "messages": []map[string]string{{"role": "user", "content": "Tell me a story"}},
			"max_tokens": 200, "temperature": temp, "seed": 3, "response_format": map[string]string{"type": "json_object"},
		}
		var a, c api.ChatCompletion
		postJSON(t, ts.URL, "/v1/chat/completions", body, &a)
		postJSON(t, ts.URL, "/v1/chat/completions", body, &c)
		if a.Choices[0].Message.Content != c.Choices[0].Message.Content {
			t.Fatalf("temperature %v: %q then %q", temp, a.Choices[0].Message.Content, c.Choices[0].Message.Content)
		}
		body["stream"] = true
		raw, _ := json.Marshal(body)
		resp, err := http.Post(ts.URL+"/v1/chat/completions", "application/json", bytes.NewReader(raw))
		if err != nil {
			t.Fatal(err)
		}
		var text strings.Builder
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			line, ok := strings.CutPrefix(sc.Text(), "data: ")
			if !ok || line == "[DONE]" {
				continue
			}
			var ch struct {
				Choices []struct {
					Delta struct {
						Content string `json:"content"`
					} `json:"delta"`
				} `json:"choices"`
			}
			if err := json.Unmarshal([]byte(line), &ch); err != nil {
				t.Fatalf("%v: %s", err, line)
			}
			if len(ch.Choices) > 0 {
				text.WriteString(ch.Choices[0].Delta.Content)
			}
		}
		resp.Body.Close()
		if text.String() != a.Choices[0].Message.Content {
			t.Fatalf("temperature %v: streamed %q, not streamed %q", temp, text.String(), a.Choices[0].Message.Content)
		}
		// ollama's chat streams the same message.
		raw, _ = json.Marshal(map[string]any{
			"model": testModelID, "messages": []map[string]string{{"role": "user", "content": "Tell me a story"}}, "format": "json",
			"options": map[string]any{"num_predict": 200, "temperature": temp, "seed": 3},
		})
		resp, err = http.Post(ts.URL+"/api/chat", "application/json", bytes.NewReader(raw))
		if err != nil {
			t.Fatal(err)
		}
		var otext strings.Builder
		sc = bufio.NewScanner(resp.Body)
		for sc.Scan() {
			var o api.OllamaResponse
			if err := json.Unmarshal(sc.Bytes(), &o); err != nil {
				t.Fatalf("%v: %s", err, sc.Text())
			}
			if o.Message != nil {
				otext.WriteString(o.Message.Content)
			}
		}
		resp.Body.Close()
		if !isJSONObject(otext.String()) {
			t.Fatalf("ollama chat streamed %q", otext.String())
		}
	}
}

// TestJSONFormatChoices: with n and a batch of prompts every choice is
// constrained on its own.
func TestJSONFormatChoices(t *testing.T) {
	b, _, _ := newLocal(t, api.LocalOptions{})
	ts, _ := serve(t, b, api.Options{})
	var out api.Completion
	postJSON(t, ts.URL, "/v1/completions", map[string]any{
		"model": testModelID, "prompt": []string{"I dream of", "The"}, "n": 3, "max_tokens": 80, "temperature": 1, "seed": 11,
		"response_format": map[string]string{"type": "json_object"},
	}, &out)
	if len(out.Choices) != 6 {
		t.Fatalf("%d choices", len(out.Choices))
	}
	for _, c := range out.Choices {
		if !isJSONObject(c.Text) {
			t.Errorf("choice %d: %q", c.Index, c.Text)
		}
	}
}

func TestJSONFormatBadRequests(t *testing.T) {
	b, _, _ := newLocal(t, api.LocalOptions{})
	ts, _ := serve(t, b, api.Options{})
	msgs := `"messages":[{"role":"user","content":"hi"}]`
	for _, tc := range []struct{ path, body string }{
		{"/v1/chat/completions", `{"model":"aidreams",` + msgs + `,"response_format":{"type":"yaml"}}`},
		{"/v1/chat/completions", `{"model":"aidreams",` + msgs + `,"response_format":"json"}`},
		{"/v1/chat/completions", `{"model":"aidreams",` + msgs + `,"response_format":{"type":"json_schema","json_schema":{"schema":{"type":"object","properties":{"a":{"type":"string","pattern":"x"}}}}}}`},
		{"/v1/chat/completions", `{"model":"aidreams",` + msgs + `,"response_format":{"type":"json_schema","json_schema":{"schema":{"anyOf":[]}}}}`},
		{"/v1/chat/completions", `{"model":"aidreams",` + msgs + `,"response_format":{"type":"json_schema"}}`},
		{"/v1/completions", `{"model":"aidreams","prompt":"x","response_format":{"type":"xml"}}`},
		{"/api/generate", `{"model":"aidreams","prompt":"x","stream":false,"format":"yaml"}`},
		{"/api/chat", `{"model":"aidreams",` + msgs + `,"stream":false,"format":{"type":"object","minProperties":1}}`},
		{"/api/chat", `{"model":"aidreams",` + msgs + `,"stream":false,"format":12}`},
	} {
		code, body := postRaw(t, ts.URL+tc.path, tc.body)
		if code != http.StatusBadRequest || !strings.Contains(string(body), "format") {
			t.Errorf("%s %s: HTTP %d %s, want a 400 about the format", tc.path, tc.body, code, body)
		}
	}
	// "text" and absent are no constraint.
	code, body := postRaw(t, ts.URL+"/v1/chat/completions", `{"model":"aidreams",`+msgs+`,"max_tokens":4,"response_format":{"type":"text"}}`)
	if code != http.StatusOK {
		t.Fatalf("text: HTTP %d %s", code, body)
	}
}

// TestJSONFormatSwarm: through a 2-node swarm (the entry masks, the
// servers run as always) the output is the JSON object the local backend
// gives, greedy and seeded, with the node's speculation on.
func TestJSONFormatSwarm(t *testing.T) {
	p := startSwarmPair(t)
	ts, _ := serve(t, p.backend, api.Options{})
	lb, _, _ := newLocal(t, api.LocalOptions{})
	lts, _ := serve(t, lb, api.Options{})
	for _, temp := range []float64{0, 0.9} {
		body := func(model string) map[string]any {
			return map[string]any{
				"model": model, "prompt": "I dream of", "max_tokens": 60, "temperature": temp, "seed": 5,
				"response_format": map[string]string{"type": "json_object"}, "orbit": map[string]string{"speculate": "ngram"},
			}
		}
		var sw, loc api.Completion
		postJSON(t, ts.URL, "/v1/completions", body(p.root.String()), &sw)
		postJSON(t, lts.URL, "/v1/completions", body(testModelID), &loc)
		if got := sw.Choices[0].Text; !isJSONObject(got) || got != loc.Choices[0].Text {
			t.Fatalf("temperature %v: swarm %q, local %q", temp, got, loc.Choices[0].Text)
		}
		if *sw.Choices[0].FinishReason != "stop" {
			t.Fatalf("temperature %v: finish reason %s", temp, *sw.Choices[0].FinishReason)
		}
	}
}

// personSchema is the schema the JSON schema tests ask for.
const personSchema = `{"type":"object","properties":{"name":{"type":"string"},"age":{"type":"integer"},
"color":{"enum":["red","green","blue"]},"tags":{"type":"array","items":{"type":"string"}},"ok":{"type":"boolean"},
"pos":{"type":"object","properties":{"x":{"type":"number"}},"required":["x"]}},"required":["name","age","pos"],"additionalProperties":false}`

// checkPerson reports why out is not a value of personSchema ("" if it is).
func checkPerson(out string) string {
	var m map[string]any
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		return err.Error()
	}
	for k, v := range m {
		ok := false
		switch k {
		case "name":
			_, ok = v.(string)
		case "age":
			f, isNum := v.(float64)
			ok = isNum && f == float64(int64(f)) && !strings.ContainsAny(out, ".eE") || isNum && f == float64(int64(f))
		case "color":
			ok = v == "red" || v == "green" || v == "blue"
		case "tags":
			a, isArr := v.([]any)
			ok = isArr
			for _, x := range a {
				_, s := x.(string)
				ok = ok && s
			}
		case "ok":
			_, ok = v.(bool)
		case "pos":
			p, isObj := v.(map[string]any)
			_, hasX := p["x"].(float64)
			ok = isObj && hasX && len(p) == 1
		}
		if !ok {
			return fmt.Sprintf("property %q: %v", k, v)
		}
	}
	for _, k := range []string{"name", "age", "pos"} {
		if _, ok := m[k]; !ok {
			return "no " + k
		}
	}
	return ""
}

// TestJSONSchemaFormat: response_format json_schema and ollama's format
// schema give outputs the schema allows, greedy and sampled, with room
// and with few tokens.
func TestJSONSchemaFormat(t *testing.T) {
	b, _, _ := newLocal(t, api.LocalOptions{})
	ts, _ := serve(t, b, api.Options{})
	var schema map[string]any
	if err := json.Unmarshal([]byte(personSchema), &schema); err != nil {
		t.Fatal(err)
	}
	for _, maxTok := range []int{300, 40} {
		for _, prompt := range []string{"I dream of", "Who are you"} {
			for _, sm := range []struct {
				temp float64
				seed int64
			}{{0, 0}, {0.8, 1}, {1.5, 9}} {
				var out api.ChatCompletion
				postJSON(t, ts.URL, "/v1/chat/completions", map[string]any{
					"model": testModelID, "messages": []map[string]string{{"role": "user", "content": prompt}},
					"max_tokens": maxTok, "temperature": sm.temp, "seed": sm.seed,
					"response_format": map[string]any{"type": "json_schema", "json_schema": map[string]any{"name": "person", "strict": true, "schema": schema}},
				}, &out)
				if c := out.Choices[0].Message.Content; checkPerson(c) != "" {
					t.Errorf("chat max %d %q t%v: %q: %s", maxTok, prompt, sm.temp, c, checkPerson(c))
				}
				var o api.OllamaResponse
				postJSON(t, ts.URL, "/api/generate", map[string]any{
					"model": testModelID, "prompt": prompt, "stream": false, "format": schema,
					"options": map[string]any{"num_predict": maxTok, "temperature": sm.temp, "seed": sm.seed},
				}, &o)
				if c := *o.Response; checkPerson(c) != "" {
					t.Errorf("ollama max %d %q t%v: %q: %s", maxTok, prompt, sm.temp, c, checkPerson(c))
				}
			}
		}
	}
}
