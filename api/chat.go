package api

import (
	"fmt"
	"strings"
)

// ChatFamily is a family of chat templates that the server renders in Go.
type ChatFamily string

// The chat template families recognised in tokenizer.chat_template.
const (
	ChatLlama3   ChatFamily = "llama3"   // <|start_header_id|>role<|end_header_id|>\n\n...<|eot_id|>
	ChatML       ChatFamily = "chatml"   // <|im_start|>role\n...<|im_end|>\n (Qwen and others)
	ChatPhi3     ChatFamily = "phi3"     // <|user|>\n...<|end|>\n<|assistant|>\n
	ChatLlama2   ChatFamily = "llama2"   // [INST] <<SYS>>\n...\n<</SYS>>\n\n... [/INST]
	ChatFallback ChatFamily = "fallback" // role: content lines, then "assistant:"
)

// ChatMessage is one message of a conversation.
type ChatMessage struct {
	Role    string // system (or developer), user, assistant or tool
	Content string
	// ToolCalls are an assistant message's calls of tools.
	ToolCalls []ToolCall
	// ToolCallID and Name are a tool message's call id and function.
	ToolCallID, Name string
}

// RenderOptions are what a request adds to its conversation's rendering:
// the tools the model may call and extra template variables
// (chat_template_kwargs, such as enable_thinking). Only a GGUF's Jinja
// template takes them.
type RenderOptions struct {
	Tools  []Tool
	Kwargs map[string]any
}

// ChatTemplate renders conversations for one model.
type ChatTemplate struct {
	Family ChatFamily
	// DefaultSystem is the system prompt the template adds when the
	// conversation has none (Qwen's "You are a helpful assistant.").
	DefaultSystem string
	// llama2 only: whether the template has a <<SYS>> block (Llama 2) or
	// prepends the system prompt to the first user message (Mistral).
	sysBlock bool
	// phi3 only: whether the template knows <|system|>.
	phiSystem bool
	// jinja renders the GGUF's own template (ChatTemplateFor); nil: the
	// family's built-in rendering.
	jinja *jinjaTemplate
}

// DetectChatTemplate recognises the family of a Jinja chat template from
// its markers. An empty or unrecognised template gives ChatFallback.
func DetectChatTemplate(tmpl string) ChatTemplate {
	switch {
	case strings.Contains(tmpl, "<|start_header_id|>"):
		return ChatTemplate{Family: ChatLlama3}
	case strings.Contains(tmpl, "<|im_start|>"):
		return ChatTemplate{Family: ChatML, DefaultSystem: chatmlDefaultSystem(tmpl)}
	case strings.Contains(tmpl, "<|user|>") && strings.Contains(tmpl, "<|end|>"):
		return ChatTemplate{Family: ChatPhi3, phiSystem: strings.Contains(tmpl, "<|system|>")}
	case strings.Contains(tmpl, "[INST]"):
		return ChatTemplate{Family: ChatLlama2, sysBlock: strings.Contains(tmpl, "<<SYS>>")}
	}
	return ChatTemplate{Family: ChatFallback}
}

// chatmlDefaultSystem finds a literal default system message in a ChatML
// template, as Qwen's: '<|im_start|>system\nYou are ...<|im_end|>'.
func chatmlDefaultSystem(tmpl string) string {
	const open = "<|im_start|>system\n"
	i := strings.Index(tmpl, open)
	if i < 0 {
		return ""
	}
	rest := tmpl[i+len(open):]
	j := strings.Index(rest, "<|im_end|>")
	if j < 0 {
		return ""
	}
	s := rest[:j]
	// A template expression (message['content'] ...) is not a literal.
	if strings.ContainsAny(s, "{}'\"+") {
		return ""
	}
	return s
}

// StopStrings returns stop strings the family needs besides its
// end-of-generation tokens.
func (t ChatTemplate) StopStrings() []string {
	if t.Family == ChatFallback {
		return []string{"\nuser:"}
	}
	return nil
}

// normRole maps OpenAI roles to the template's: developer is system.
func normRole(r string) (string, error) {
	switch r {
	case "system", "developer":
		return "system", nil
	case "user", "assistant", "tool":
		return r, nil
	}
	return "", fmt.Errorf("%w: unsupported message role %q (use system, developer, user, assistant or tool)", ErrBadRequest, r)
}

// Render turns a conversation into the prompt text that asks the model for
// the assistant's next message. The beginning-of-sequence token is not
// included: the tokenizer adds it.
func (t ChatTemplate) Render(msgs []ChatMessage) (string, error) {
	text, _, err := t.RenderLiteral(msgs)
	return text, err
}

// RenderLiteral is Render that also returns the byte ranges [start, end)
// of the text that came from the messages' content: the server tokenizes
// them as plain text (tokenizer.EncodeLiteral), so a message that spells a
// special token (<|im_end|>, </s>) cannot end its turn or open another;
// only the template's own markers are special tokens.
func (t ChatTemplate) RenderLiteral(msgs []ChatMessage) (string, [][2]int, error) {
	return t.RenderWith(msgs, RenderOptions{})
}

// Thinking reports whether the model's template is a reasoning one (it
// knows </think>, as Qwen3's): its output's leading <think> block is the
// reasoning, not the content.
func (t ChatTemplate) Thinking() bool {
	return t.jinja != nil && strings.Contains(t.jinja.src, "</think>")
}

// RenderWith is RenderLiteral with tools and template variables. Tools,
// tool messages and assistant tool calls need the GGUF's Jinja template
// (one that reads tools when tools are given): the built-in renderings
// refuse them.
func (t ChatTemplate) RenderWith(msgs []ChatMessage, opt RenderOptions) (string, [][2]int, error) {
	if len(msgs) == 0 {
		return "", nil, fmt.Errorf("%w: messages must not be empty", ErrBadRequest)
	}
	norm := make([]ChatMessage, len(msgs))
	for i, m := range msgs {
		r, err := normRole(m.Role)
		if err != nil {
			return "", nil, err
		}
		norm[i] = m
		norm[i].Role = r
	}
	tooling := len(opt.Tools) > 0
	for _, m := range norm {
		tooling = tooling || m.Role == "tool" || len(m.ToolCalls) > 0
	}
	if tooling {
		if t.jinja == nil {
			return "", nil, fmt.Errorf("%w: this model's chat template cannot render tools, tool calls or tool messages (the GGUF has no Jinja chat template this server renders)", ErrBadRequest)
		}
		if len(opt.Tools) > 0 && !strings.Contains(t.jinja.src, "tools") {
			return "", nil, fmt.Errorf("%w: this model's chat template takes no tools", ErrBadRequest)
		}
		return t.jinja.render(norm, opt)
	}
	if t.jinja != nil {
		if text, lit, err := t.jinja.render(norm, opt); err == nil {
			return text, lit, nil
		}
		// A template that fails on this conversation (one that raises on
		// roles it does not take, say): the built-in rendering.
	}
	w := &chatWriter{}
	switch t.Family {
	case ChatLlama3:
		for _, m := range norm {
			w.tmpl("<|start_header_id|>" + m.Role + "<|end_header_id|>\n\n")
			w.text(strings.TrimSpace(m.Content))
			w.tmpl("<|eot_id|>")
		}
		w.tmpl("<|start_header_id|>assistant<|end_header_id|>\n\n")
	case ChatML:
		if norm[0].Role != "system" && t.DefaultSystem != "" {
			w.tmpl("<|im_start|>system\n" + t.DefaultSystem + "<|im_end|>\n")
		}
		for _, m := range norm {
			w.tmpl("<|im_start|>" + m.Role + "\n")
			w.text(m.Content)
			w.tmpl("<|im_end|>\n")
		}
		w.tmpl("<|im_start|>assistant\n")
	case ChatPhi3:
		norm = t.mergeSystem(norm, t.phiSystem)
		for _, m := range norm {
			w.tmpl("<|" + m.Role + "|>\n")
			w.text(m.Content)
			w.tmpl("<|end|>\n")
		}
		w.tmpl("<|assistant|>\n")
	case ChatLlama2:
		t.renderLlama2(w, norm)
	default:
		for _, m := range norm {
			w.tmpl(m.Role + ": ")
			w.text(m.Content)
			w.tmpl("\n")
		}
		w.tmpl("assistant:")
	}
	return w.b.String(), w.lit, nil
}

// chatWriter builds a rendered conversation, recording which bytes came
// from the messages.
type chatWriter struct {
	b   strings.Builder
	lit [][2]int
}

// tmpl writes the template's own text.
func (w *chatWriter) tmpl(s string) { w.b.WriteString(s) }

// text writes text from a message.
func (w *chatWriter) text(s string) {
	start := w.b.Len()
	w.b.WriteString(s)
	if s != "" {
		w.lit = append(w.lit, [2]int{start, w.b.Len()})
	}
}

// mergeSystem folds system messages into the next user message when the
// template has no system role (keep is false).
func (t ChatTemplate) mergeSystem(msgs []ChatMessage, keep bool) []ChatMessage {
	if keep {
		return msgs
	}
	var out []ChatMessage
	var sys []string
	for _, m := range msgs {
		switch {
		case m.Role == "system":
			sys = append(sys, m.Content)
		case m.Role == "user" && len(sys) > 0:
			out = append(out, ChatMessage{Role: "user", Content: strings.Join(sys, "\n\n") + "\n\n" + m.Content})
			sys = nil
		default:
			out = append(out, m)
		}
	}
	if len(sys) > 0 {
		out = append(out, ChatMessage{Role: "user", Content: strings.Join(sys, "\n\n")})
	}
	return out
}

// renderLlama2 writes "[INST] <<SYS>>\nsys\n<</SYS>>\n\nuser [/INST] answer </s><s>[INST] ...",
// the Llama 2 format (Mistral's, without <<SYS>>, puts the system prompt
// before the first user message).
func (t ChatTemplate) renderLlama2(w *chatWriter, msgs []ChatMessage) {
	var sys []string
	first := true
	open := false // an [INST] is waiting for its answer
	system := func() {
		if len(sys) == 0 {
			return
		}
		if t.sysBlock {
			w.tmpl("<<SYS>>\n")
			w.text(strings.Join(sys, "\n\n"))
			w.tmpl("\n<</SYS>>\n\n")
		} else {
			w.text(strings.Join(sys, "\n\n"))
			w.tmpl("\n\n")
		}
		sys = nil
	}
	for _, m := range msgs {
		switch m.Role {
		case "system":
			sys = append(sys, m.Content)
		case "user":
			if !first {
				w.tmpl("<s>")
			}
			first = false
			w.tmpl("[INST] ")
			system()
			w.text(strings.TrimSpace(m.Content))
			w.tmpl(" [/INST]")
			open = true
		case "assistant":
			if first {
				first = false
			}
			w.tmpl(" ")
			w.text(strings.TrimSpace(m.Content))
			w.tmpl(" </s>")
			open = false
		}
	}
	if len(sys) > 0 || !open {
		// A conversation ending in a system or assistant message: ask again
		// with what is left (an empty instruction).
		if !first {
			w.tmpl("<s>")
		}
		w.tmpl("[INST] ")
		system()
		w.tmpl(" [/INST]")
	}
}
