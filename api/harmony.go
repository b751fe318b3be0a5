package api

import (
	"encoding/json"
	"strings"
)

// gpt-oss writes its output in OpenAI's harmony format: messages, each a
// header and a body,
//
//	<|channel|>analysis<|message|>reasoning<|end|>
//	<|start|>assistant<|channel|>final<|message|>the answer
//	<|start|>assistant<|channel|>commentary to=functions.NAME <|constrain|>json<|message|>{...}
//
// (the first message's <|start|>assistant is the prompt's). A message ends
// with <|end|>, or with <|return|> or <|call|>, which end generation. The
// recipient (to=functions.NAME) may also stand before <|channel|>.

// Harmony's markers, as the text shows them (the server renders them).
const (
	harmonyStart     = "<|start|>"
	harmonyChannel   = "<|channel|>"
	harmonyMessage   = "<|message|>"
	harmonyEnd       = "<|end|>"
	harmonyCall      = "<|call|>"
	harmonyReturn    = "<|return|>"
	harmonyConstrain = "<|constrain|>"
)

// harmonyEnds end a message's body.
var harmonyEnds = []string{harmonyEnd, harmonyCall, harmonyReturn, harmonyStart}

// maxHarmonyHeader bounds a header: text that runs longer without
// <|message|> is not one.
const maxHarmonyHeader = 256

// isHarmony reports whether a chat template writes harmony.
func isHarmony(src string) bool {
	return strings.Contains(src, harmonyChannel) && strings.Contains(src, harmonyMessage)
}

// harmonyStream splits a harmony output as it streams in: the analysis
// channel is reasoning, the final channel (and commentary without a
// recipient, a preamble) content, and a commentary message to
// functions.NAME of a declared tool a call whose arguments are its body
// (given out compacted as it comes; a body that does not end as a JSON
// object leaves the call broken). A message to another recipient is
// content. Text before any header is content.
type harmonyStream struct {
	names  map[string]bool
	buf    string
	inBody bool
	kind   int // of the body: hContent, hReasoning or hCall
	call   *streamCall
	body   string // the call's body so far
	calls  []*streamCall
	out    outDelta
	// spoiled: a call was broken.
	spoiled bool
}

const (
	hContent = iota
	hReasoning
	hCall
)

func newHarmonyStream(names map[string]bool) *harmonyStream {
	return &harmonyStream{names: names}
}

func (h *harmonyStream) next(t string) outDelta {
	h.buf += t
	h.step(false)
	d := h.out
	h.out = outDelta{}
	return d
}

func (h *harmonyStream) flush() outDelta {
	h.step(true)
	if h.inBody {
		h.endMessage()
	}
	d := h.out
	h.out = outDelta{}
	return d
}

// result is the calls that ended well-formed.
func (h *harmonyStream) result() []ToolCall {
	var out []ToolCall
	for _, c := range h.calls {
		if c.ok {
			out = append(out, c.final)
		}
	}
	return out
}

// headerPrefixes begin a header.
var headerPrefixes = []string{harmonyStart, harmonyChannel, " to=", "to="}

func (h *harmonyStream) step(eof bool) {
	for {
		if !h.inBody {
			if i := strings.Index(h.buf, harmonyMessage); i >= 0 && i <= maxHarmonyHeader && h.looksHeader(h.buf) {
				h.header(h.buf[:i])
				h.buf, h.inBody = h.buf[i+len(harmonyMessage):], true
				continue
			}
			if h.buf == "" {
				return
			}
			if !eof && len(h.buf) <= maxHarmonyHeader && (h.looksHeader(h.buf) || heldPrefix(h.buf, headerPrefixes) == len(h.buf)) {
				return // a header, or the beginning of one
			}
			if eof && h.looksHeader(h.buf) {
				h.buf = "" // a header cut short: nothing to give out
				return
			}
			// Not a header: content up to the next message.
			h.kind, h.inBody = hContent, true
			continue
		}
		at, which := firstMarker(h.buf, harmonyEnds)
		if at < 0 {
			keep := 0
			if !eof {
				keep = heldPrefix(h.buf, harmonyEnds)
			}
			h.bodyText(h.buf[:len(h.buf)-keep])
			h.buf = h.buf[len(h.buf)-keep:]
			return
		}
		h.bodyText(h.buf[:at])
		h.endMessage()
		h.buf = h.buf[at:]
		if which != harmonyStart {
			h.buf = h.buf[len(which):]
		}
	}
}

// looksHeader reports whether s begins as a header does.
func (h *harmonyStream) looksHeader(s string) bool {
	for _, p := range headerPrefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// header reads a message's header: its channel and recipient.
func (h *harmonyStream) header(s string) {
	s = strings.TrimPrefix(s, harmonyStart)
	word := func(after string) string {
		i := strings.Index(s, after)
		if i < 0 {
			return ""
		}
		w := s[i+len(after):]
		if j := strings.IndexAny(w, " <\t\n"); j >= 0 {
			w = w[:j]
		}
		return w
	}
	channel, recipient := word(harmonyChannel), word("to=")
	h.kind = hContent
	switch {
	case recipient != "":
		name, ok := strings.CutPrefix(recipient, "functions.")
		if ok && h.names[name] {
			h.kind = hCall
			c := &streamCall{index: len(h.calls), id: newID("call_"), name: name, started: true}
			h.calls = append(h.calls, c)
			h.call, h.body = c, ""
			h.out.Calls = append(h.out.Calls, callDelta{Index: c.index, ID: c.id, Name: name})
		}
	case channel == "analysis":
		h.kind = hReasoning
	}
}

// bodyText gives out a piece of the current message's body.
func (h *harmonyStream) bodyText(t string) {
	if t == "" {
		return
	}
	switch h.kind {
	case hReasoning:
		h.out.Reasoning += t
	case hCall:
		h.body += t
		args := compactJSON(strings.TrimLeft(h.body, " \t\r\n"))
		if c := h.call; len(args) > len(c.sent) && strings.HasPrefix(args, c.sent) {
			h.out.Calls = append(h.out.Calls, callDelta{Index: c.index, Args: args[len(c.sent):]})
			c.sent = args
		}
	default:
		h.out.Content += t
	}
}

// endMessage ends the current message: a call's body must be a JSON
// object.
func (h *harmonyStream) endMessage() {
	if h.kind == hCall {
		c := h.call
		args := strings.TrimSpace(h.body)
		var obj map[string]json.RawMessage // numbers unparsed: 1E999 is JSON
		if json.Unmarshal([]byte(args), &obj) == nil && obj != nil && compactJSON(args) == c.sent {
			c.final = ToolCall{ID: c.id, Type: "function", Function: ToolCallFunction{Name: c.name, Arguments: c.sent}}
			c.ok = true
			h.out.Done = append(h.out.Done, c.final)
		} else {
			c.broken, h.spoiled = true, true
		}
		h.call, h.body = nil, ""
	}
	h.inBody, h.kind = false, hContent
}
