package api

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/orbitswarm/orbit/engine/tokenizer"
)

// outParser splits a chat output as it streams in: a thinking template's
// <think> block (reasoning), then tool calls when tools are declared; or,
// for a harmony template (gpt-oss), its channels and calls.
type outParser struct {
	think   *thinkStream
	tools   *toolStream
	harmony *harmonyStream
	// raw is the text after the reasoning: the content when the output
	// is not wholly well-formed calls and text.
	raw strings.Builder
	acc outDelta
	// pending is what the prefill gave out (a call's start): it goes out
	// with the first piece of the output.
	pending outDelta
}

// newOutParser returns a parser; nil when there is nothing to split.
func newOutParser(harmony, thinking, opened bool, names map[string]bool) *outParser {
	p := &outParser{}
	switch {
	case harmony:
		p.harmony = newHarmonyStream(names)
		return p
	case thinking:
		p.think = newThinkStream(opened)
	}
	if names != nil {
		p.tools = newToolStream(names)
	}
	if p.think == nil && p.tools == nil {
		return nil
	}
	return p
}

// next reads a piece of the output and returns what it adds.
func (p *outParser) next(t string) outDelta {
	var d outDelta
	if p.harmony != nil {
		d = p.harmony.next(t)
	} else {
		c := t
		if p.think != nil {
			d.Reasoning, c = p.think.next(t)
		}
		d.add(p.content(c, false))
	}
	p.acc.add(d)
	return p.withPending(d)
}

// withPending is d after what the prefill gave out.
func (p *outParser) withPending(d outDelta) outDelta {
	if p.pending.empty() {
		return d
	}
	out := p.pending
	out.add(d)
	p.pending = outDelta{}
	return out
}

// flush ends the output and returns what was held back.
func (p *outParser) flush() outDelta {
	var d outDelta
	if p.harmony != nil {
		d = p.harmony.flush()
	} else {
		c := ""
		if p.think != nil {
			d.Reasoning, c = p.think.flush()
		}
		d.add(p.content(c, true))
	}
	p.acc.add(d)
	return p.withPending(d)
}

// content passes text after the reasoning to the tool call reader.
func (p *outParser) content(c string, end bool) outDelta {
	p.raw.WriteString(c)
	if p.tools == nil {
		return outDelta{Content: c}
	}
	d := p.tools.next(c)
	if end {
		d.add(p.tools.flush())
	}
	return d
}

// cut says the output was ended on purpose right after a call (a named
// tool_choice, parallel_tool_calls false): an array of calls left open
// is not a flaw.
func (p *outParser) cut() {
	if p.tools != nil && (p.tools.state == tsJSONAfter || p.tools.state == tsJSONObjStart) {
		p.tools.inArray = false
	}
}

// calls are the calls that ended well-formed.
func (p *outParser) calls() []ToolCall {
	switch {
	case p.harmony != nil:
		return p.harmony.result()
	case p.tools != nil:
		return p.tools.result()
	}
	return nil
}

// message is the whole message after flush: the reasoning, the calls and
// the content around them, or, when the output is not wholly well-formed
// calls and text, all of it (after the reasoning) as content and no
// calls.
func (p *outParser) message() chatOutput {
	out := chatOutput{Content: p.acc.Content, Reasoning: p.acc.Reasoning}
	if p.harmony != nil {
		out.Calls = p.harmony.result()
		return out
	}
	if p.tools != nil {
		out.Calls = p.tools.result()
		if p.tools.spoiled || len(out.Calls) == 0 {
			out.Content, out.Calls = p.raw.String(), nil
		} else {
			out.Content = strings.TrimSpace(out.Content)
		}
	}
	return out
}

// chatReading is how a chat request's output is read: its template's
// reasoning convention, the declared tools, and for tool_choice
// "required" or a named function the text that ends the prompt to start
// a call (prefill), which the output continues.
type chatReading struct {
	harmony, thinking, opened bool
	names                     map[string]bool
	prefill                   string
	start                     callStart // how the prefill starts the call
	// required: a call must come back; oneCall: generation ends after
	// the first call (a named function, parallel_tool_calls false).
	required, oneCall bool
	// types are the tools' parameter types (see paramTypes).
	types map[string]map[string]string
}

// newChatReading prepares the reading of the output of a prompt (text,
// rendered by tmpl) with tools names (nil: none) and a tool choice.
func newChatReading(tmpl ChatTemplate, text string, names map[string]bool, choice toolChoice, parallel bool) (chatReading, error) {
	r := chatReading{names: names, oneCall: !parallel}
	if tmpl.jinja != nil && isHarmony(tmpl.jinja.src) {
		r.harmony = true
	} else {
		r.thinking = tmpl.Thinking()
		r.opened = r.thinking && strings.HasSuffix(strings.TrimRight(text, " \t\r\n"), "<think>")
	}
	if choice.mode != choiceRequired && choice.mode != choiceNamed {
		return r, nil
	}
	src := ""
	if tmpl.jinja != nil {
		src = tmpl.jinja.src
	}
	start, ok := callPrefill(src, choice.name)
	if !ok {
		return r, badRequest("tool_choice", "unsupported_value", "tool_choice %q needs a chat template whose tool call format this server knows (Hermes/Qwen <tool_call>, Mistral [TOOL_CALLS], Llama 3.1 JSON or gpt-oss harmony)", choice.String())
	}
	r.prefill, r.start, r.required = start.prefill, start, true
	r.oneCall = r.oneCall || choice.mode == choiceNamed
	// The output continues a call: no reasoning block comes first.
	r.thinking, r.opened = false, false
	return r, nil
}

// parses reports whether the output is split at all.
func (r chatReading) parses() bool { return r.harmony || r.thinking || r.names != nil }

// parser returns a parser for one choice, the prefill read already; nil
// when the output is not split.
func (r chatReading) parser() *outParser {
	p := newOutParser(r.harmony, r.thinking, r.opened, r.names)
	if p != nil && p.tools != nil {
		p.tools.types = r.types
	}
	if p != nil && r.prefill != "" {
		p.pending = p.next(r.prefill)
	}
	return p
}

// callStart is how a call starts in a template's format: the text that
// ends the prompt (prefill), and what of the call the output writes, for
// its constraint (see newCallFormat).
type callStart struct {
	prefill string
	// obj is where in prefill the call's JSON object begins, key its
	// member holding the arguments (-1: the call is not written as a JSON
	// object).
	obj int
	key string
	// argsOnly: the output is the arguments' object itself (the name
	// was prefilled, and the format writes the arguments bare).
	argsOnly bool
	// block: the call is a block its own marker closes (Hermes's
	// <tool_call>), so text after its object is not a flaw of the call.
	block bool
	// bareName, when set: the output writes the name as it is, then
	// these (a control token's text, or plain text), then the arguments'
	// object.
	bareName []string
	// after is what closes the call after its JSON (Hermes's
	// </tool_call>), when the output goes on after it.
	after []string
	// markers are the format's markers that its reader finds anywhere,
	// even inside a call's JSON: their tokens are kept out of it.
	markers []string
}

// callPrefill is how a call starts in the format of the template src: of
// function name, or with name "" the model's choice of function. ok is
// false for a format the server does not know.
func callPrefill(src, name string) (callStart, bool) {
	q, _ := json.Marshal(name)
	obj := func(pre, key string) callStart {
		return callStart{prefill: pre, obj: strings.Index(pre, "{"), key: key}
	}
	switch {
	case isHarmony(src):
		markers := []string{harmonyStart, harmonyChannel, harmonyMessage, harmonyEnd, harmonyConstrain}
		if name == "" {
			return callStart{prefill: harmonyChannel + "commentary to=functions.", obj: -1, bareName: []string{" ", harmonyConstrain, "json", harmonyMessage}, markers: markers}, true
		}
		return callStart{prefill: harmonyChannel + "commentary to=functions." + name + " " + harmonyConstrain + "json" + harmonyMessage, obj: -1, argsOnly: true, markers: markers}, true
	case strings.Contains(src, hermesOpen) && strings.Contains(src, xmlFunction):
		if name == "" {
			return callStart{prefill: hermesOpen + "\n" + xmlFunction, obj: -1}, true
		}
		return callStart{prefill: hermesOpen + "\n" + xmlFunction + name + ">\n", obj: -1}, true
	case strings.Contains(src, hermesOpen):
		cs := obj(hermesOpen+"\n{\"name\": "+string(q)+", \"arguments\": ", "arguments")
		if name == "" {
			cs = obj(hermesOpen+"\n{\"name\": \"", "arguments")
		}
		cs.block, cs.after = true, []string{hermesClose}
		return cs, true
	case strings.Contains(src, mistralOpen) && strings.Contains(src, mistralArgs):
		markers := []string{mistralOpen, mistralArgs, mistralCallID}
		if name == "" {
			return callStart{prefill: mistralOpen, obj: -1, bareName: []string{mistralArgs}, markers: markers}, true
		}
		return callStart{prefill: mistralOpen + name + mistralArgs, obj: -1, argsOnly: true, markers: markers}, true
	case strings.Contains(src, mistralOpen):
		if name == "" {
			return obj(mistralOpen+" [{\"name\": \"", "arguments"), true
		}
		return obj(mistralOpen+" [{\"name\": "+string(q)+", \"arguments\": ", "arguments"), true
	case strings.Contains(src, pythonTag) || (strings.Contains(src, "<|start_header_id|>") && strings.Contains(src, "parameters")):
		if name == "" {
			return obj("{\"name\": \"", "parameters"), true
		}
		return obj("{\"name\": "+string(q)+", \"parameters\": ", "parameters"), true
	}
	return callStart{}, false
}

// renderTokens are the control tokens of tok whose text the output must
// show to be read (markers of calls and reasoning, harmony's): the
// detokenizer renders control tokens as nothing, as llama.cpp's server
// does except for the markers of the request's format.
func renderTokens(tok *tokenizer.Tokenizer) map[int32]bool {
	out := map[int32]bool{}
	for _, s := range []string{hermesOpen, hermesClose, mistralOpen, mistralArgs, mistralCallID, pythonTag, "<think>", "</think>",
		harmonyStart, harmonyChannel, harmonyMessage, harmonyEnd, harmonyConstrain} {
		if id, ok := tok.TokenID(s); ok && len(tok.TokenPiece(id)) == 0 {
			out[id] = true
		}
	}
	return out
}

// errNoToolCall is the error of a tool_choice that asked for a call when
// the output holds none: the model did not follow the call it was started
// on (a format whose calls are not constrained, see newCallFormat).
func errNoToolCall(choice string, output string) *apiError {
	const max = 200
	if len(output) > max {
		output = output[:max] + "..."
	}
	return &apiError{Status: 500, Type: "server_error", Code: strp("tool_call_failed"),
		Message: fmt.Sprintf("tool_choice %s: the model's output is not a well-formed call of a declared tool: %q", choice, output)}
}
