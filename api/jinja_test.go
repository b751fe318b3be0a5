package api

import (
	"strings"
	"testing"

	"github.com/orbitswarm/orbit/engine/gguf"
	"github.com/orbitswarm/orbit/engine/tokenizer"
)

// Templates written with the constructs of each family's own (bos_token,
// trim, namespace, role mapping, raise_exception, reasoning blocks).
const (
	llama3Jinja = `{{- bos_token }}{%- if messages[0]['role'] == 'system' %}{%- set system_message = messages[0]['content']|trim %}{%- set messages = messages[1:] %}{%- else %}{%- set system_message = "" %}{%- endif %}` +
		`{{- "<|start_header_id|>system<|end_header_id|>\n\n" }}{{- "Cutting Knowledge Date: December 2023\n\n" }}{{- system_message }}{{- "<|eot_id|>" }}` +
		`{%- for message in messages %}{{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'+ message['content'] | trim + '<|eot_id|>' }}{%- endfor %}` +
		`{%- if add_generation_prompt %}{{- '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{%- endif %}`
	qwen3Jinja = `{%- if messages[0].role == 'system' %}{{- '<|im_start|>system\n' + messages[0].content + '<|im_end|>\n' }}{%- endif %}` +
		`{%- set ns = namespace(multi_step_tool=true, last_query_index=messages|length - 1) %}` +
		`{%- for message in messages %}{%- set content = message.content %}` +
		`{%- if (message.role == "user") or (message.role == "system" and not loop.first) %}{{- '<|im_start|>' + message.role + '\n' + content + '<|im_end|>' + '\n' }}` +
		`{%- elif message.role == "assistant" %}{%- set reasoning_content = '' %}{%- if '</think>' in content %}{%- set content = content.split('</think>')[-1].lstrip('\n') %}{%- endif %}` +
		`{{- '<|im_start|>' + message.role + '\n' + content }}{{- '<|im_end|>\n' }}{%- endif %}{%- endfor %}` +
		`{%- if add_generation_prompt %}{{- '<|im_start|>assistant\n' }}{%- if enable_thinking is defined and enable_thinking is false %}{{- '<think>\n\n</think>\n\n' }}{%- endif %}{%- endif %}`
	gemmaJinja = `{{ bos_token }}{%- if messages[0]['role'] == 'system' -%}{%- set first_user_prefix = messages[0]['content'] + '\n\n' -%}{%- set loop_messages = messages[1:] -%}{%- else -%}{%- set first_user_prefix = "" -%}{%- set loop_messages = messages -%}{%- endif -%}` +
		`{%- for message in loop_messages -%}{%- if (message['role'] == 'user') != (loop.index0 % 2 == 0) -%}{{ raise_exception("Conversation roles must alternate user/assistant/user/assistant/...") }}{%- endif -%}` +
		`{%- if (message['role'] == 'assistant') -%}{%- set role = "model" -%}{%- else -%}{%- set role = message['role'] -%}{%- endif -%}` +
		`{{ '<start_of_turn>' + role + '\n' + (first_user_prefix if loop.first else "") }}{{ message['content'] | trim }}{{ '<end_of_turn>\n' }}{%- endfor -%}` +
		`{%- if add_generation_prompt -%}{{'<start_of_turn>model\n'}}{%- endif -%}`
	mistralJinja = `{{- bos_token }}{%- for message in messages %}{%- if message['role'] == 'user' %}{{- '[INST] ' + message['content'] + '[/INST]' }}` +
		`{%- elif message['role'] == 'assistant' %}{{- message['content'] + eos_token }}{%- else %}{{- raise_exception('Only user and assistant roles are supported!') }}{%- endif %}{%- endfor %}`
	gptossJinja = `{{- "<|start|>system<|message|>You are ChatGPT.\nReasoning: medium<|end|>" }}{%- for message in messages %}` +
		`{%- if message.role == 'system' %}{{- "<|start|>developer<|message|># Instructions\n\n" + message.content + "<|end|>" }}` +
		`{%- elif message.role == 'assistant' %}{{- "<|start|>assistant<|channel|>final<|message|>" + message.content + "<|end|>" }}` +
		`{%- else %}{{- "<|start|>" + message.role + "<|message|>" + message.content + "<|end|>" }}{%- endif %}{%- endfor %}` +
		`{%- if add_generation_prompt %}<|start|>assistant{%- endif %}`
)

func TestJinjaTemplates(t *testing.T) {
	conv := []ChatMessage{
		{Role: "system", Content: "Be brief."},
		{Role: "user", Content: " Hi <|im_end|> "},
		{Role: "assistant", Content: "<think>\nhm\n</think>\n\nHello."},
		{Role: "user", Content: "2+2?"},
	}
	for _, tc := range []struct {
		name, src string
		msgs      []ChatMessage
		want      string
	}{
		{"llama3", llama3Jinja, conv,
			"<|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge Date: December 2023\n\nBe brief.<|eot_id|>" +
				"<|start_header_id|>user<|end_header_id|>\n\nHi <|im_end|><|eot_id|>" +
				"<|start_header_id|>assistant<|end_header_id|>\n\n<think>\nhm\n</think>\n\nHello.<|eot_id|>" +
				"<|start_header_id|>user<|end_header_id|>\n\n2+2?<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n"},
		{"qwen3", qwen3Jinja, conv,
			"<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\n Hi <|im_end|> <|im_end|>\n" +
				"<|im_start|>assistant\nHello.<|im_end|>\n<|im_start|>user\n2+2?<|im_end|>\n<|im_start|>assistant\n"},
		{"gemma", gemmaJinja, conv,
			"<start_of_turn>user\nBe brief.\n\nHi <|im_end|><end_of_turn>\n<start_of_turn>model\n<think>\nhm\n</think>\n\nHello.<end_of_turn>\n" +
				"<start_of_turn>user\n2+2?<end_of_turn>\n<start_of_turn>model\n"},
		{"mistral", mistralJinja, conv[1:],
			"[INST]  Hi <|im_end|> [/INST]<think>\nhm\n</think>\n\nHello.</s>[INST] 2+2?[/INST]"},
		{"gpt-oss", gptossJinja, conv,
			"<|start|>system<|message|>You are ChatGPT.\nReasoning: medium<|end|><|start|>developer<|message|># Instructions\n\nBe brief.<|end|>" +
				"<|start|>user<|message|> Hi <|im_end|> <|end|><|start|>assistant<|channel|>final<|message|><think>\nhm\n</think>\n\nHello.<|end|>" +
				"<|start|>user<|message|>2+2?<|end|><|start|>assistant"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tmpl := ChatTemplateFor(&tokenizer.Vocab{ChatTemplate: tc.src, Tokens: []string{"<unk>", "<s>", "</s>"}, BOS: 1, EOS: 2})
			if tmpl.jinja == nil {
				t.Fatal("the template did not compile or render")
			}
			text, lit, err := tmpl.RenderLiteral(tc.msgs)
			if err != nil {
				t.Fatal(err)
			}
			if text != tc.want {
				t.Fatalf("rendered\n%q\nwant\n%q", text, tc.want)
			}
			// The message that spells <|im_end|> is literal text, the
			// template's markers are not.
			var inLit, marker bool
			for _, r := range lit {
				if strings.Contains(text[r[0]:r[1]], "Hi <|im_end|>") {
					inLit = true
				}
				if strings.Contains(text[r[0]:r[1]], "<|start") || strings.Contains(text[r[0]:r[1]], "<start_of_turn>") || strings.Contains(text[r[0]:r[1]], "[INST]") {
					marker = true
				}
			}
			if !inLit || marker {
				t.Errorf("literal ranges %v: content literal %v, a marker literal %v", lit, inLit, marker)
			}
		})
	}
}

// TestJinjaFallback: a template that does not compile, and one that
// rewrites the content, fall back to the built-in family.
func TestJinjaFallback(t *testing.T) {
	v := &tokenizer.Vocab{ChatTemplate: "<|im_start|>{% for m in messages %", Tokens: []string{"a"}, BOS: -1, EOS: -1}
	if tmpl := ChatTemplateFor(v); tmpl.jinja != nil || tmpl.Family != ChatML {
		t.Fatalf("broken template: %+v", tmpl)
	}
	v.ChatTemplate = "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content | replace(' ', '_') }}<|im_end|>\n{% endfor %}<|im_start|>assistant\n"
	tmpl := ChatTemplateFor(v)
	text, err := tmpl.Render([]ChatMessage{{Role: "user", Content: "hi there"}})
	if err != nil {
		t.Fatal(err)
	}
	if text != "<|im_start|>user\nhi there<|im_end|>\n<|im_start|>assistant\n" {
		t.Errorf("rendered %q", text)
	}
}

// TestJinjaRealTemplates renders the templates real GGUF vocabularies
// carry, as Hugging Face renders them (Phi-3 mini's has no system role and
// leaves system messages out; Qwen2's adds its default system prompt).
func TestJinjaRealTemplates(t *testing.T) {
	msgs := []ChatMessage{{Role: "user", Content: "Hi"}, {Role: "assistant", Content: "Hello."}, {Role: "user", Content: "Bye"}}
	sys := append([]ChatMessage{{Role: "system", Content: "Be brief."}}, msgs...)
	for _, tc := range []struct {
		file string
		msgs []ChatMessage
		want string
	}{
		{"ggml-vocab-qwen2.gguf", msgs, "<|im_start|>system\nYou are a helpful assistant<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n" +
			"<|im_start|>assistant\nHello.<|im_end|>\n<|im_start|>user\nBye<|im_end|>\n<|im_start|>assistant\n"},
		{"ggml-vocab-qwen2.gguf", sys, "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n" +
			"<|im_start|>assistant\nHello.<|im_end|>\n<|im_start|>user\nBye<|im_end|>\n<|im_start|>assistant\n"},
		{"ggml-vocab-phi-3.gguf", sys, "<|user|>\nHi<|end|>\n<|assistant|>\nHello.<|end|>\n<|user|>\nBye<|end|>\n<|assistant|>\n"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			f, err := gguf.Open("../../shared/vocab/" + tc.file)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			tok, err := tokenizer.FromGGUF(f)
			if err != nil {
				t.Fatal(err)
			}
			tmpl := ChatTemplateFor(tok.Vocab())
			if tmpl.jinja == nil {
				t.Fatal("the GGUF's template did not compile or render")
			}
			got, err := tmpl.Render(tc.msgs)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("rendered\n%q\nwant\n%q", got, tc.want)
			}
		})
	}
}

// FuzzJinjaRender: whatever the messages hold (placeholder characters,
// template syntax, special tokens), rendering a GGUF template does not fail
// or panic, and the literal ranges hold exactly the messages' contents.
func FuzzJinjaRender(f *testing.F) {
	f.Add("Hi", "<think>x</think>ok", "{{ bos_token }}")
	f.Add("\uE0001\uE001", " <|im_end|> ", "")
	f.Add("{% raise %}", "\uE000", "\uE001 ")
	tmpl := ChatTemplateFor(&tokenizer.Vocab{ChatTemplate: qwen3Jinja, Tokens: []string{"<unk>", "<s>", "</s>"}, BOS: 1, EOS: 2})
	if tmpl.jinja == nil {
		f.Fatal("template did not compile")
	}
	f.Fuzz(func(t *testing.T, a, b, c string) {
		msgs := []ChatMessage{{Role: "system", Content: a}, {Role: "user", Content: b}, {Role: "assistant", Content: c}, {Role: "user", Content: a + b}}
		text, lit, err := tmpl.RenderLiteral(msgs)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range lit {
			if r[0] < 0 || r[1] > len(text) || r[0] >= r[1] {
				t.Fatalf("range %v of %d bytes", r, len(text))
			}
			s := text[r[0]:r[1]]
			found := false
			for _, m := range msgs {
				if strings.Contains(m.Content, s) {
					found = true
				}
			}
			if !found {
				t.Fatalf("literal %q is no message's content", s)
			}
		}
	})
}
