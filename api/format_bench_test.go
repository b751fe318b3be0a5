package api

import (
	"encoding/json"
	"runtime"
	"testing"

	"github.com/orbitswarm/orbit/api/jsonprefix"
	"github.com/orbitswarm/orbit/engine/gguf"
	"github.com/orbitswarm/orbit/engine/tokenizer"
	"github.com/orbitswarm/orbit/internal/platform"
)

// benchVocabs are the vocabularies the mask is measured over: Llama 2's
// 32,000 tokens and Llama 3's 128,256.
func benchVocabs(b *testing.B) []struct {
	name string
	tok  *tokenizer.Tokenizer
} {
	v, err := tokenizer.LoadLlama2C("../../shared/models/llama2-tokenizer.bin", 32000)
	if err != nil {
		b.Fatal(err)
	}
	spm, err := tokenizer.New(v)
	if err != nil {
		b.Fatal(err)
	}
	f, err := gguf.Open("../../shared/vocab/ggml-vocab-llama-bpe.gguf")
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	bpe, err := tokenizer.FromGGUF(f)
	if err != nil {
		b.Fatal(err)
	}
	return []struct {
		name string
		tok  *tokenizer.Tokenizer
	}{{"32k", spm}, {"128k", bpe}}
}

// BenchmarkJSONMask is one step's mask over a vocabulary, in a string
// value of a JSON object and of a schema's object (about every token
// allowed: the most work a step does), and after a value (few allowed),
// and at points of a pydantic-style schema;
// on Linux also in CPU time of the thread (cpu-ns/op), which a loaded
// machine disturbs far less than wall time.
func BenchmarkJSONMask(b *testing.B) {
	var sv any
	_ = json.Unmarshal([]byte(`{"type":"object","properties":{"name":{"type":"string"},"age":{"type":"integer"}},"required":["name","age"]}`), &sv)
	sch, err := jsonprefix.Compile(sv)
	if err != nil {
		b.Fatal(err)
	}
	var pv any
	_ = json.Unmarshal([]byte(PydanticTestSchema), &pv)
	pyd, err := jsonprefix.Compile(pv)
	if err != nil {
		b.Fatal(err)
	}
	// A union of two objects told apart by a later key: both readings
	// live at a key and in a string.
	var uv any
	_ = json.Unmarshal([]byte(`{"anyOf":[
		{"type":"object","properties":{"name":{"type":"string"},"kind":{"const":"cat"},"lives":{"type":"integer"}},"required":["name","kind"],"additionalProperties":false},
		{"type":"object","properties":{"name":{"type":"string"},"kind":{"const":"dog"},"breed":{"type":"string"}},"required":["name","kind"],"additionalProperties":false}]}`), &uv)
	union, err := jsonprefix.Compile(uv)
	if err != nil {
		b.Fatal(err)
	}
	const book = `{"title": "x", "author": {"name": "ab", "born": null}, "genre": null, "chapters": [{"title": "ab`
	for _, voc := range benchVocabs(b) {
		for _, bc := range []struct {
			name, text string
			f          *outputFormat
		}{
			{"object", `{"name":"ab`, &outputFormat{object: true}},
			{"schema", `{"name":"ab`, &outputFormat{schema: sch}},
			{"object-after", `{"name":"ab"`, &outputFormat{object: true}},
			// A schema as pydantic writes it (PydanticTestSchema): in a
			// string, one with a length bound (each byte counted), at an
			// Optional value (anyOf: two readings), after a value.
			{"pydantic-str", book, &outputFormat{schema: pyd}},
			{"pydantic-maxlen", `{"title": "x", "author": {"name": "ab`, &outputFormat{schema: pyd}},
			{"pydantic-anyof", `{"title": "x", "author": {"name": "ab", "born": null}, "genre": `, &outputFormat{schema: pyd}},
			{"pydantic-after", book + `", "pages": 3, "notes": null}`, &outputFormat{schema: pyd}},
			{"union-key", `{"name": "ab", "`, &outputFormat{schema: union}},
			{"union-str", `{"name": "ab`, &outputFormat{schema: union}},
		} {
			b.Run(voc.name+"/"+bc.name, func(b *testing.B) {
				c := newJSONConstraint(bc.f, voc.tok, newVocabTrie(voc.tok), 1000)
				c.st.p.WriteString(bc.text)
				logits := make([]float32, voc.tok.NumTokens())
				runtime.LockOSThread()
				defer runtime.UnlockOSThread()
				b.ResetTimer()
				c0, cpu := platform.ThreadCPU()
				for range b.N {
					c.mask(logits)
				}
				if c1, _ := platform.ThreadCPU(); cpu {
					b.ReportMetric(float64((c1-c0).Nanoseconds())/float64(b.N), "cpu-ns/op")
				}
			})
		}
	}
}
