package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/orbitswarm/orbit/api/jsonprefix"
	"github.com/orbitswarm/orbit/engine/gguf"
	"github.com/orbitswarm/orbit/engine/tokenizer"
)

// bruteMask is the mask as it was before the trie: every token's piece
// fed to a copy of the state, the tokens grouped by first byte. The
// trie's mask must give exactly its logits.
func bruteMask(st jsonState, tok *tokenizer.Tokenizer, left int, logits []float32) {
	room := left - 1
	var allowed, closing []int32
	var byFirst [256][]int32
	var empty []int32
	for id := range int32(tok.NumTokens()) {
		if st.calls != nil && slices.Contains(st.calls.tokens, id) {
			if q := st; int(id) < len(logits) && q.feedToken(id) {
				allowed = append(allowed, id)
				if q.completionLen() <= room {
					closing = append(closing, id)
				}
			}
			continue
		}
		if st.calls != nil && slices.Contains(st.calls.banned, id) {
			continue
		}
		if p := tok.TokenPiece(id); len(p) > 0 {
			byFirst[p[0]] = append(byFirst[p[0]], id)
		} else {
			empty = append(empty, id)
		}
	}
	for b := range 256 {
		ids := byFirst[b]
		if len(ids) == 0 {
			continue
		}
		if q := st; !q.feed(byte(b)) {
			continue
		}
		for _, id := range ids {
			if int(id) >= len(logits) {
				continue
			}
			q := st
			if !q.write(tok.TokenPiece(id)) {
				continue
			}
			allowed = append(allowed, id)
			if q.completionLen() <= room {
				closing = append(closing, id)
			}
		}
	}
	for _, id := range empty {
		if int(id) >= len(logits) {
			continue
		}
		if st.complete() && tok.IsEOG(id) {
			allowed, closing = append(allowed, id), append(closing, id)
		}
	}
	keep := closing
	if len(keep) == 0 {
		keep = allowed
	}
	if len(keep) == 0 {
		return
	}
	kept := make([]float32, len(keep))
	for k, id := range keep {
		kept[k] = logits[id]
	}
	for i := range logits {
		logits[i] = float32(math.Inf(-1))
	}
	for k, id := range keep {
		logits[id] = kept[k]
	}
}

// maskVocabs are the real vocabularies the masks are compared over.
func maskVocabs(t testing.TB) map[string]*tokenizer.Tokenizer {
	out := map[string]*tokenizer.Tokenizer{}
	v, err := tokenizer.LoadLlama2C("../../shared/models/llama2-tokenizer.bin", 32000)
	if err != nil {
		t.Fatal(err)
	}
	if out["llama2-32k"], err = tokenizer.New(v); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"llama-spm", "llama-bpe", "qwen2", "gpt-2", "phi-3"} {
		f, err := gguf.Open("../../shared/vocab/ggml-vocab-" + name + ".gguf")
		if err != nil {
			t.Fatal(err)
		}
		tok, err := tokenizer.FromGGUF(f)
		f.Close()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		out[name] = tok
	}
	return out
}

// maskTools are tools whose names share prefixes, one with a schema of
// jsonprefix's subset, two without.
const maskTools = `[{"type":"function","function":{"name":"get","parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}},
{"type":"function","function":{"name":"get_weather"}},{"type":"function","function":{"name":"go","parameters":{"type":"object","properties":{"q":{"pattern":"x"}}}}}]`

// randSchema is a random schema of the subset jsonprefix takes: at the
// top (depth 0) with a recursive definition T that $ref names below.
func randSchema(r *rand.Rand, depth int) map[string]any {
	s := randSubschema(r, depth)
	if depth == 0 {
		s = map[string]any{"anyOf": []any{s, map[string]any{"$ref": "#/$defs/T"}}, "title": "root",
			"$defs": map[string]any{"T": map[string]any{"type": "object", "additionalProperties": false,
				"properties": map[string]any{"v": map[string]any{"type": "string", "maxLength": 3},
					"t": map[string]any{"anyOf": []any{map[string]any{"$ref": "#/$defs/T"}, map[string]any{"type": "null"}}}},
				"required": []any{"v"}}}}
	}
	return s
}

func randSubschema(r *rand.Rand, depth int) map[string]any {
	scalars := []string{"string", "integer", "number", "boolean", "null"}
	k := r.IntN(14)
	if depth >= 3 && k < 3 {
		k = 3 + r.IntN(11)
	}
	switch k {
	case 0, 1:
		props := map[string]any{}
		var req []any
		for i := range 1 + r.IntN(4) {
			name := []string{"name", "age", "a", "ab", "tags", "x\"y", "é", "nested"}[r.IntN(8)] + fmt.Sprint(i%2)
			props[name] = randSubschema(r, depth+1)
			if r.IntN(2) == 0 {
				req = append(req, name)
			}
		}
		s := map[string]any{"type": "object", "properties": props, "description": "an object"}
		if req != nil {
			s["required"] = req
		}
		if r.IntN(2) == 0 {
			s["additionalProperties"] = r.IntN(3) == 0
		}
		return s
	case 2:
		s := map[string]any{"type": "array", "items": randSubschema(r, depth+1)}
		if r.IntN(2) == 0 {
			s["minItems"] = r.IntN(3)
			s["maxItems"] = 2 + r.IntN(2)
		}
		return s
	case 3:
		return map[string]any{"enum": []any{"red", "green", 1, 12.5, true, nil, "re"}[:1+r.IntN(7)]}
	case 4:
		return map[string]any{"type": []any{scalars[r.IntN(5)], scalars[r.IntN(5)]}}
	case 5:
		return map[string]any{"type": "object", "additionalProperties": r.IntN(2) == 0}
	case 6:
		return map[string]any{}
	case 7, 8:
		// An Optional field (pydantic), or a union of two.
		alt := map[string]any{"type": "null"}
		if k == 8 {
			alt = randSubschema(r, depth+1)
		}
		return map[string]any{"anyOf": []any{randSubschema(r, depth+1), alt}, "default": nil}
	case 9:
		return map[string]any{"const": []any{"x", "xy", 3, false}[r.IntN(4)]}
	case 10:
		s := map[string]any{"type": "string", "maxLength": 1 + r.IntN(4)}
		if r.IntN(2) == 0 {
			s["minLength"] = r.IntN(2)
		}
		return s
	case 11:
		return map[string]any{"$ref": "#/$defs/T"}
	}
	return map[string]any{"type": scalars[r.IntN(5)]}
}

// TestTrieMaskMatchesBrute walks random outputs of random schemas (and
// of any JSON value, any object, and tool calls of a choice of tools)
// over real vocabularies, 32,000 to
// 151,000 tokens, and at every step compares the trie's mask with the
// brute-force one, bit for bit, with random logits and random numbers of
// tokens left (the closing rule), and logits longer or shorter than the
// vocabulary.
func TestTrieMaskMatchesBrute(t *testing.T) {
	vocabs := maskVocabs(t)
	for _, name := range []string{"llama2-32k", "llama-spm", "llama-bpe", "qwen2", "gpt-2", "phi-3"} {
		tok := vocabs[name]
		t.Run(name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(uint64(len(name)), 7))
			trie := newVocabTrie(tok)
			walks := 9
			if tok.NumTokens() > 100000 {
				walks = 5
			}
			for w := range walks {
				var f *outputFormat
				desc := ""
				switch w {
				case 0:
					f, desc = &outputFormat{object: true}, "object"
				case 1:
					f, desc = &outputFormat{}, "any"
				case 2, 3, 4, 5:
					// A tool call of any of tools, its name first: in
					// a JSON object (Hermes, Llama 3.1), or bare, then
					// text and control tokens (where the vocabulary has
					// them: else their text) as harmony and Mistral's
					// [ARGS] write them.
					var tools []Tool
					if err := json.Unmarshal([]byte(maskTools), &tools); err != nil {
						t.Fatal(err)
					}
					cs, _ := callPrefill("<tool_call>", "")
					switch w {
					case 3:
						cs = callStart{obj: -1, bareName: []string{" ", "<|start_header_id|>", "json", "<|end_header_id|>"}, markers: []string{"<|eot_id|>", "<s>", "</s>"}}
					case 4:
						cs = callStart{obj: -1, bareName: []string{"<|end_header_id|>"}, markers: []string{"<|im_start|>", "<0x0A>", "▁{", "Ġ{", "{\""}}
					case 5:
						cs, _ = callPrefill("<|python_tag|>", "")
					}
					// Hermes's with release: </tool_call> after the JSON.
					f, desc = &outputFormat{call: newCallFormat(cs, "", tools, tok, w == 2)}, "call"
				default:
					sv := randSchema(r, 0)
					raw, _ := json.Marshal(sv)
					var v any
					_ = json.Unmarshal(raw, &v)
					sch, err := jsonprefix.Compile(v)
					if err != nil {
						t.Fatalf("schema %s: %v", raw, err)
					}
					f, desc = &outputFormat{schema: sch}, string(raw)
				}
				c := newJSONConstraint(f, tok, trie, 1000)
				// The logits may be more than the vocabulary (an output
				// layer padded) or fewer.
				logits := make([]float32, tok.NumTokens()+[]int{0, 7, -5}[w%3])
				want := make([]float32, len(logits))
				var text []byte
				for step := 0; step < 48 && !c.off; step++ {
					c.left = 1000
					if r.IntN(4) == 0 {
						c.left = []int{1, 2, 3, 4, 6, 10, 30}[r.IntN(7)]
					}
					for i := range logits {
						logits[i] = float32(r.NormFloat64())
					}
					copy(want, logits)
					bruteMask(c.st, tok, c.left, want)
					c.mask(logits)
					var allowed, short []int32
					for i := range logits {
						if math.Float32bits(logits[i]) != math.Float32bits(want[i]) {
							t.Fatalf("%s after %q (left %d): token %d (%q) is %v, brute force %v", desc, text, c.left, i, tok.TokenPiece(int32(i)), logits[i], want[i])
						}
						if !math.IsInf(float64(logits[i]), -1) {
							allowed = append(allowed, int32(i))
							if p := tok.TokenPiece(int32(i)); len(p) <= 2 && len(bytes.TrimSpace(p)) > 0 {
								short = append(short, int32(i))
							}
						}
					}
					if len(allowed) == 0 || len(allowed) == len(logits) {
						break // no mask: the output cannot go on (or everything is allowed)
					}
					pick := allowed[r.IntN(len(allowed))]
					if len(short) > 0 && r.IntN(2) == 0 {
						pick = short[r.IntN(len(short))]
					}
					if tok.IsEOG(pick) {
						break
					}
					text = append(text, tok.TokenPiece(pick)...)
					closed, err := c.advance(pick)
					if err != nil {
						t.Fatalf("%s after %q: %v", desc, text, err)
					}
					if closed {
						break
					}
				}
			}
		})
	}
}

// FuzzTrieMask compares the trie's mask with the brute-force one after
// any text (as far as it is a valid prefix) of any of the constraints:
// any value, an object, a schema's value, and tool calls (a name in a
// JSON object, or bare then control tokens or their text), over Llama
// 2's vocabulary, with any number of tokens left.
func FuzzTrieMask(f *testing.F) {
	tok := maskVocabs(f)["llama2-32k"]
	trie := newVocabTrie(tok)
	var tools []Tool
	if err := json.Unmarshal([]byte(maskTools), &tools); err != nil {
		f.Fatal(err)
	}
	var sv any
	_ = json.Unmarshal([]byte(`{"type":"object","properties":{"name":{"type":"string"},"tags":{"type":"array","items":{"enum":["a","ab",1]}},"n":{"type":"integer"}},"required":["name"]}`), &sv)
	var pv any
	_ = json.Unmarshal([]byte(PydanticTestSchema), &pv)
	pyd, err := jsonprefix.Compile(pv)
	if err != nil {
		f.Fatal(err)
	}
	sch, err := jsonprefix.Compile(sv)
	if err != nil {
		f.Fatal(err)
	}
	hermes, _ := callPrefill("<tool_call>", "")
	formats := []*outputFormat{{}, {object: true}, {schema: sch}, {schema: pyd},
		{call: newCallFormat(hermes, "", tools, tok, true)},
		{call: newCallFormat(callStart{obj: -1, bareName: []string{" ", "</s>", "json", "<s>"}, markers: []string{"<unk>"}}, "", tools, tok, false)}}
	for _, seed := range []struct {
		text string
		mode uint8
		left uint8
	}{{`{"a": [1, "x\\u00`, 0, 200}, {`{"name": "b`, 2, 3}, {`get_weather", "arguments": {"q": 1}}`, 4, 9}, {"go json{", 5, 50},
		{`{"name":"x","tags":["a`, 2, 1}, {"  ", 1, 0}, {`get", "arguments": {"city": ""}}  </tool`, 4, 4},
		{`{"title": "Dr", "author": {"name": "ab`, 3, 6}, {`{"title": "x", "author": {"name": "a", "born": null}, "chapters": [{"title": "c", "pages": 3, "notes": n`, 3, 40}} {
		f.Add(seed.text, seed.mode, seed.left)
	}
	f.Fuzz(func(t *testing.T, text string, mode, left uint8) {
		c := newJSONConstraint(formats[int(mode)%len(formats)], tok, trie, int(left)+1)
		for i := 0; i < len(text) && !c.st.done; i++ {
			if q := c.st; !q.feed(text[i]) {
				break
			}
			c.st.feed(text[i])
		}
		if c.st.done {
			return
		}
		logits := make([]float32, tok.NumTokens())
		for i := range logits {
			logits[i] = float32(i%97) / 7
		}
		want := slices.Clone(logits)
		bruteMask(c.st, tok, c.left, want)
		c.mask(logits)
		for i := range logits {
			if math.Float32bits(logits[i]) != math.Float32bits(want[i]) {
				t.Fatalf("after %q (left %d): token %d (%q) is %v, brute force %v", text, c.left, i, tok.TokenPiece(int32(i)), logits[i], want[i])
			}
		}
	})
}
