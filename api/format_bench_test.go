package api

import (
	"encoding/json"
	"testing"

	"github.com/orbitswarm/orbit/api/jsonprefix"
	"github.com/orbitswarm/orbit/engine/tokenizer"
)

// BenchmarkJSONMask is one step's mask over Llama 2's 32000 tokens, in a
// string value of a JSON object and of a schema's object (about every
// token allowed: the most work a step does).
func BenchmarkJSONMask(b *testing.B) {
	v, err := tokenizer.LoadLlama2C("../../shared/models/llama2-tokenizer.bin", 32000)
	if err != nil {
		b.Fatal(err)
	}
	tok, err := tokenizer.New(v)
	if err != nil {
		b.Fatal(err)
	}
	var sv any
	_ = json.Unmarshal([]byte(`{"type":"object","properties":{"name":{"type":"string"},"age":{"type":"integer"}},"required":["name","age"]}`), &sv)
	sch, err := jsonprefix.Compile(sv)
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name string
		f    *outputFormat
	}{{"object", &outputFormat{object: true}}, {"schema", &outputFormat{schema: sch}}} {
		b.Run(bc.name, func(b *testing.B) {
			c := newJSONConstraint(bc.f, tok, 1000)
			c.p.WriteString(`{"name":"ab`)
			logits := make([]float32, tok.NumTokens())
			b.ResetTimer()
			for range b.N {
				c.mask(logits)
			}
		})
	}
}
