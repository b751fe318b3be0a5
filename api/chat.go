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
	Role    string // system (or developer), user or assistant
	Content string
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
	case "user", "assistant":
		return r, nil
	}
	return "", fmt.Errorf("%w: unsupported message role %q (use system, developer, user or assistant)", ErrBadRequest, r)
}

// Render turns a conversation into the prompt text that asks the model for
// the assistant's next message. The beginning-of-sequence token is not
// included: the tokenizer adds it.
func (t ChatTemplate) Render(msgs []ChatMessage) (string, error) {
	if len(msgs) == 0 {
		return "", fmt.Errorf("%w: messages must not be empty", ErrBadRequest)
	}
	norm := make([]ChatMessage, len(msgs))
	for i, m := range msgs {
		r, err := normRole(m.Role)
		if err != nil {
			return "", err
		}
		norm[i] = ChatMessage{Role: r, Content: m.Content}
	}
	var b strings.Builder
	switch t.Family {
	case ChatLlama3:
		for _, m := range norm {
			fmt.Fprintf(&b, "<|start_header_id|>%s<|end_header_id|>\n\n%s<|eot_id|>", m.Role, strings.TrimSpace(m.Content))
		}
		b.WriteString("<|start_header_id|>assistant<|end_header_id|>\n\n")
	case ChatML:
		if norm[0].Role != "system" && t.DefaultSystem != "" {
			fmt.Fprintf(&b, "<|im_start|>system\n%s<|im_end|>\n", t.DefaultSystem)
		}
		for _, m := range norm {
			fmt.Fprintf(&b, "<|im_start|>%s\n%s<|im_end|>\n", m.Role, m.Content)
		}
		b.WriteString("<|im_start|>assistant\n")
	case ChatPhi3:
		norm = t.mergeSystem(norm, t.phiSystem)
		for _, m := range norm {
			fmt.Fprintf(&b, "<|%s|>\n%s<|end|>\n", m.Role, m.Content)
		}
		b.WriteString("<|assistant|>\n")
	case ChatLlama2:
		t.renderLlama2(&b, norm)
	default:
		for _, m := range norm {
			fmt.Fprintf(&b, "%s: %s\n", m.Role, m.Content)
		}
		b.WriteString("assistant:")
	}
	return b.String(), nil
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
func (t ChatTemplate) renderLlama2(b *strings.Builder, msgs []ChatMessage) {
	var sys []string
	first := true
	open := false // an [INST] is waiting for its answer
	for _, m := range msgs {
		switch m.Role {
		case "system":
			sys = append(sys, m.Content)
		case "user":
			if !first {
				b.WriteString("<s>")
			}
			first = false
			b.WriteString("[INST] ")
			if len(sys) > 0 {
				s := strings.Join(sys, "\n\n")
				if t.sysBlock {
					fmt.Fprintf(b, "<<SYS>>\n%s\n<</SYS>>\n\n", s)
				} else {
					b.WriteString(s + "\n\n")
				}
				sys = nil
			}
			fmt.Fprintf(b, "%s [/INST]", strings.TrimSpace(m.Content))
			open = true
		case "assistant":
			if first {
				first = false
			}
			fmt.Fprintf(b, " %s </s>", strings.TrimSpace(m.Content))
			open = false
		}
	}
	if len(sys) > 0 || !open {
		// A conversation ending in a system or assistant message: ask again
		// with what is left (an empty instruction).
		if !first {
			b.WriteString("<s>")
		}
		b.WriteString("[INST] ")
		if len(sys) > 0 {
			s := strings.Join(sys, "\n\n")
			if t.sysBlock {
				fmt.Fprintf(b, "<<SYS>>\n%s\n<</SYS>>\n\n", s)
			} else {
				b.WriteString(s + "\n\n")
			}
		}
		b.WriteString(" [/INST]")
	}
}
