package api

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/ardanlabs/jinja"

	"github.com/orbitswarm/orbit/engine/tokenizer"
)

// ChatTemplateFor is the chat template of a model's vocabulary: its GGUF
// tokenizer.chat_template rendered as Jinja (as Hugging Face and llama.cpp
// render it: messages, add_generation_prompt, bos_token, eos_token) when it
// compiles and renders a probe conversation, else the built-in family
// DetectChatTemplate recognises (the fallback for a GGUF without one).
func ChatTemplateFor(v *tokenizer.Vocab) ChatTemplate {
	t := DetectChatTemplate(v.ChatTemplate)
	if strings.TrimSpace(v.ChatTemplate) == "" {
		return t
	}
	j, err := jinja.Compile(v.ChatTemplate)
	if err != nil {
		return t
	}
	jt := &jinjaTemplate{tmpl: j, src: v.ChatTemplate, bos: tokenText(v, v.BOS), eos: tokenText(v, v.EOS)}
	probe := []ChatMessage{{Role: "system", Content: "s"}, {Role: "user", Content: "u"}, {Role: "assistant", Content: "a"}, {Role: "user", Content: "v"}}
	if _, _, err := jt.render(probe, RenderOptions{}); err != nil {
		// Some templates refuse a system message; try without.
		if _, _, err := jt.render(probe[1:], RenderOptions{}); err != nil {
			return t
		}
	}
	t.jinja = jt
	return t
}

func tokenText(v *tokenizer.Vocab, id int32) string {
	if id < 0 || int(id) >= len(v.Tokens) {
		return ""
	}
	return v.Tokens[id]
}

// jinjaTemplate renders a GGUF's Jinja chat template.
type jinjaTemplate struct {
	tmpl     *jinja.Template
	src      string
	bos, eos string
}

// sentinel marks where message i's content lands in a rendering; it uses
// private-use characters no template writes.
func sentinel(i int) string { return "\uE000" + strconv.Itoa(i) + "\uE001" }

var sentinelRE = regexp.MustCompile("\uE000([0-9]+)\uE001")

// thinkRE is a leading reasoning block of an assistant message.
var thinkRE = regexp.MustCompile(`(?s)^\s*<think>.*?</think>\s*`)

// run renders the template over messages whose contents are given.
func (j *jinjaTemplate) run(msgs []ChatMessage, contents []string, opt RenderOptions) (string, error) {
	ms := make([]any, len(msgs))
	for i, m := range msgs {
		mm := map[string]any{"role": m.Role, "content": contents[i]}
		if len(m.ToolCalls) > 0 {
			mm["tool_calls"] = templateToolCalls(m.ToolCalls)
		}
		if m.ToolCallID != "" {
			mm["tool_call_id"] = m.ToolCallID
		}
		if m.Name != "" {
			mm["name"] = m.Name
		}
		ms[i] = mm
	}
	vars := make(map[string]any, len(opt.Kwargs)+5)
	for k, v := range opt.Kwargs {
		vars[k] = v
	}
	vars["messages"] = ms
	vars["add_generation_prompt"] = true
	vars["bos_token"] = j.bos
	vars["eos_token"] = j.eos
	if len(opt.Tools) > 0 {
		vars["tools"] = templateTools(opt.Tools)
	}
	out, err := j.tmpl.Render(vars)
	if err != nil {
		return "", fmt.Errorf("%w: chat template: %v", ErrBadRequest, err)
	}
	if j.bos != "" {
		out = strings.TrimPrefix(out, j.bos)
	}
	return out, nil
}

// render renders msgs (roles already normalized) with the generation
// prompt, returning the text and the byte ranges of message content. The
// template runs on placeholders instead of the contents, so what is
// template text and what is content is exact: the contents then replace
// the placeholders, as they are or trimmed when the template trims them
// (found by running it once more per message with that placeholder padded
// by spaces); a template that rewrites content in other ways is an error
// (the caller falls back to the built-in family). A leading bos_token is
// dropped (the tokenizer adds it). Assistant messages lose a leading
// <think> block when the template knows </think>, as Qwen3's drops the
// reasoning of past turns.
func (j *jinjaTemplate) render(msgs []ChatMessage, opt RenderOptions) (string, [][2]int, error) {
	think := strings.Contains(j.src, "</think>")
	content := make([]string, len(msgs))
	marks := make([]string, len(msgs))
	for i, m := range msgs {
		c := m.Content
		if think && m.Role == "assistant" {
			c = thinkRE.ReplaceAllString(c, "")
		}
		content[i], marks[i] = c, sentinel(i)
		if c == "" {
			// Nothing to mark; templates test empty content ({% if
			// message.content %}), as an assistant's with tool calls.
			marks[i] = ""
		}
	}
	bare, err := j.run(msgs, marks, opt)
	if err != nil {
		return "", nil, err
	}
	trim := make([]bool, len(msgs))
	for i := range msgs {
		if marks[i] == "" || !strings.Contains(bare, marks[i]) {
			continue
		}
		padded := append([]string(nil), marks...)
		padded[i] = " " + marks[i] + " "
		out, err := j.run(msgs, padded, opt)
		if err != nil {
			return "", nil, err
		}
		switch out {
		case strings.ReplaceAll(bare, marks[i], padded[i]):
		case bare:
			trim[i] = true
		default:
			return "", nil, fmt.Errorf("chat template: the content of message %d is rewritten", i)
		}
	}
	w := &chatWriter{}
	last := 0
	for _, loc := range sentinelRE.FindAllStringSubmatchIndex(bare, -1) {
		i, err := strconv.Atoi(bare[loc[2]:loc[3]])
		if err != nil || i >= len(msgs) {
			return "", nil, fmt.Errorf("chat template: stray placeholder")
		}
		piece := bare[last:loc[0]]
		if strings.ContainsAny(piece, "\uE000\uE001") {
			return "", nil, fmt.Errorf("chat template: the content of a message is rewritten")
		}
		w.tmpl(piece)
		if trim[i] {
			w.text(strings.TrimSpace(content[i]))
		} else {
			w.text(content[i])
		}
		last = loc[1]
	}
	if strings.ContainsAny(bare[last:], "\uE000\uE001") {
		return "", nil, fmt.Errorf("chat template: the content of a message is rewritten")
	}
	w.tmpl(bare[last:])
	return w.b.String(), w.lit, nil
}
