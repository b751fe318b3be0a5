package api

import (
	"strings"
	"testing"

	"github.com/orbitswarm/orbit/engine/gguf"
	"github.com/orbitswarm/orbit/engine/tokenizer"
)

func TestDetectChatTemplate(t *testing.T) {
	for _, tc := range []struct {
		name, tmpl string
		want       ChatFamily
	}{
		{"empty", "", ChatFallback},
		{"unknown", "{% for m in messages %}{{ m.content }}{% endfor %}", ChatFallback},
		{"llama3", "{{ '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n' }}", ChatLlama3},
		{"chatml", "{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>'}}", ChatML},
		{"phi3", "{{'<|user|>' + '\n' + message['content'] + '<|end|>'}}", ChatPhi3},
		{"llama2", "{{ '[INST] ' + content + ' [/INST]' }}{{ '<<SYS>>\\n' }}", ChatLlama2},
		{"mistral", "{{ '[INST] ' + message['content'] + ' [/INST]' }}", ChatLlama2},
	} {
		if got := DetectChatTemplate(tc.tmpl).Family; got != tc.want {
			t.Errorf("%s: family %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestRenderChat(t *testing.T) {
	conv := []ChatMessage{
		{Role: "system", Content: "Be kind."},
		{Role: "user", Content: "Hi"},
		{Role: "assistant", Content: "Hello!"},
		{Role: "user", Content: "How are you?"},
	}
	for _, tc := range []struct {
		name string
		tmpl ChatTemplate
		msgs []ChatMessage
		want string
	}{
		{"llama3", ChatTemplate{Family: ChatLlama3}, conv,
			"<|start_header_id|>system<|end_header_id|>\n\nBe kind.<|eot_id|>" +
				"<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>" +
				"<|start_header_id|>assistant<|end_header_id|>\n\nHello!<|eot_id|>" +
				"<|start_header_id|>user<|end_header_id|>\n\nHow are you?<|eot_id|>" +
				"<|start_header_id|>assistant<|end_header_id|>\n\n"},
		{"chatml", ChatTemplate{Family: ChatML}, conv,
			"<|im_start|>system\nBe kind.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nHello!<|im_end|>\n" +
				"<|im_start|>user\nHow are you?<|im_end|>\n<|im_start|>assistant\n"},
		{"chatml default system", ChatTemplate{Family: ChatML, DefaultSystem: "You are a helpful assistant"}, conv[1:2],
			"<|im_start|>system\nYou are a helpful assistant<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"},
		{"phi3 without system role", ChatTemplate{Family: ChatPhi3}, conv,
			"<|user|>\nBe kind.\n\nHi<|end|>\n<|assistant|>\nHello!<|end|>\n<|user|>\nHow are you?<|end|>\n<|assistant|>\n"},
		{"phi3 with system role", ChatTemplate{Family: ChatPhi3, phiSystem: true}, conv[:2],
			"<|system|>\nBe kind.<|end|>\n<|user|>\nHi<|end|>\n<|assistant|>\n"},
		{"llama2", ChatTemplate{Family: ChatLlama2, sysBlock: true}, conv,
			"[INST] <<SYS>>\nBe kind.\n<</SYS>>\n\nHi [/INST] Hello! </s><s>[INST] How are you? [/INST]"},
		{"mistral", ChatTemplate{Family: ChatLlama2}, conv,
			"[INST] Be kind.\n\nHi [/INST] Hello! </s><s>[INST] How are you? [/INST]"},
		{"fallback", ChatTemplate{Family: ChatFallback}, conv,
			"system: Be kind.\nuser: Hi\nassistant: Hello!\nuser: How are you?\nassistant:"},
		{"developer is system", ChatTemplate{Family: ChatFallback}, []ChatMessage{{Role: "developer", Content: "x"}},
			"system: x\nassistant:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.tmpl.Render(tc.msgs)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Fatalf("got\n%q\nwant\n%q", got, tc.want)
			}
		})
	}
	if _, err := (ChatTemplate{}).Render(nil); err == nil {
		t.Error("no messages: no error")
	}
	if _, err := (ChatTemplate{}).Render([]ChatMessage{{Role: "tool", Content: "x"}}); err == nil {
		t.Error("tool role: no error")
	}
}

// TestRealTemplates detects the families of real GGUF chat templates and
// checks that their markers tokenize as single special tokens.
func TestRealTemplates(t *testing.T) {
	// The llama-bpe vocabulary (Llama 3's tokenizer) carries no template:
	// this is the start of Llama 3's own.
	const llama3Template = "{% set loop_messages = messages %}{% for message in loop_messages %}" +
		"{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'+ message['content'] | trim + '<|eot_id|>' %}"
	for _, tc := range []struct {
		file    string
		tmpl    string // the template, when the file has none
		family  ChatFamily
		want    string // the rendered prompt for one user message "Hi"
		markers []string
	}{
		{"ggml-vocab-qwen2.gguf", "", ChatML,
			"<|im_start|>system\nYou are a helpful assistant<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n",
			[]string{"<|im_start|>", "<|im_end|>"}},
		{"ggml-vocab-phi-3.gguf", "", ChatPhi3, "<|user|>\nHi<|end|>\n<|assistant|>\n", []string{"<|user|>", "<|end|>", "<|assistant|>"}},
		{"ggml-vocab-llama-bpe.gguf", llama3Template, ChatLlama3,
			"<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n",
			[]string{"<|start_header_id|>", "<|eot_id|>", "<|end_header_id|>"}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			f, err := gguf.Open("../../shared/vocab/" + tc.file)
			if err != nil {
				t.Fatalf("(../shared must sit beside the repository) %v", err)
			}
			defer f.Close()
			tok, err := tokenizer.FromGGUF(f)
			if err != nil {
				t.Fatal(err)
			}
			src := tok.Vocab().ChatTemplate
			if tc.tmpl != "" {
				if src != "" {
					t.Fatalf("%s has a template of its own now: test it", tc.file)
				}
				src = tc.tmpl
			}
			tmpl := DetectChatTemplate(src)
			if tmpl.Family != tc.family {
				t.Fatalf("family %q, want %q", tmpl.Family, tc.family)
			}
			text, err := tmpl.Render([]ChatMessage{{Role: "user", Content: "Hi"}})
			if err != nil {
				t.Fatal(err)
			}
			if text != tc.want {
				t.Fatalf("rendered %q, want %q", text, tc.want)
			}
			ids := tok.Encode(text, true, true)
			for _, m := range tc.markers {
				id, ok := tok.TokenID(m)
				if !ok {
					t.Fatalf("no token %q", m)
				}
				found := false
				for _, x := range ids {
					found = found || x == id
				}
				if !found {
					t.Errorf("%q is not one token in %v", m, ids)
				}
			}
			if eog := tc.markers[1]; true {
				id, _ := tok.TokenID(eog)
				if !tok.IsEOG(id) {
					t.Errorf("%q does not end generation", eog)
				}
			}
		})
	}
}

func FuzzChatTemplate(f *testing.F) {
	f.Add("<|im_start|>system\nYou are a helpful assistant<|im_end|>", "user", "hi")
	f.Add("[INST] <<SYS>>", "system", "x")
	f.Add("<|user|><|end|>", "assistant", "")
	f.Add("", "developer", "\x00")
	f.Fuzz(func(t *testing.T, tmpl, role, content string) {
		ct := DetectChatTemplate(tmpl)
		msgs := []ChatMessage{{Role: role, Content: content}, {Role: "user", Content: content}}
		out, err := ct.Render(msgs)
		if err != nil {
			if _, rerr := normRole(role); rerr == nil {
				t.Fatalf("render failed for a valid role %q: %v", role, err)
			}
			return
		}
		if !strings.Contains(out, strings.TrimSpace(content)) {
			t.Fatalf("content %q lost in %q", content, out)
		}
	})
}
