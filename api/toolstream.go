package api

import (
	"encoding/json"
	"strings"
)

// outDelta is what a piece of a model's output adds to the assistant's
// message: content, reasoning, and the calls of tools as they are read (a
// call's first delta has its id and name, later ones pieces of its
// arguments, OpenAI's streaming). Done holds the calls that ended
// well-formed with this piece, whole (as ollama streams them).
type outDelta struct {
	Content   string
	Reasoning string
	Calls     []callDelta
	Done      []ToolCall
}

// callDelta is a piece of call Index: its id and name on the first, then
// a fragment of its arguments' JSON text.
type callDelta struct {
	Index    int
	ID, Name string
	Args     string
}

// add appends o to d.
func (d *outDelta) add(o outDelta) {
	d.Content += o.Content
	d.Reasoning += o.Reasoning
	d.Calls = append(d.Calls, o.Calls...)
	d.Done = append(d.Done, o.Done...)
}

// empty reports whether d adds nothing.
func (d outDelta) empty() bool {
	return d.Content == "" && d.Reasoning == "" && len(d.Calls) == 0 && len(d.Done) == 0
}

// toolCalls are d's call pieces as a streamed delta's tool_calls: one entry
// per call, pieces of the same call joined.
func (d outDelta) toolCalls() []ToolCall {
	var out []ToolCall
	for _, c := range d.Calls {
		if n := len(out); n > 0 && *out[n-1].Index == c.Index && c.ID == "" {
			out[n-1].Function.Arguments += c.Args
			continue
		}
		idx := c.Index
		tc := ToolCall{Index: &idx, ID: c.ID, Function: ToolCallFunction{Name: c.Name, Arguments: c.Args}}
		if c.ID != "" {
			tc.Type = "function"
		}
		out = append(out, tc)
	}
	return out
}

// streamCall is a call being read from the output.
type streamCall struct {
	index    int
	id, name string
	started  bool   // its id and name were given out
	sent     string // its arguments given out so far
	final    ToolCall
	ok       bool // it ended well-formed
	broken   bool // it was given out but did not end well-formed
}

// The openers of calls in text: Hermes and Qwen's <tool_call> blocks,
// Mistral's [TOOL_CALLS] array and Llama 3.1's <|python_tag|> calls (the
// last two are control tokens; the server renders them when it reads
// calls, see renderTokens).
const (
	hermesOpen  = "<tool_call>"
	hermesClose = "</tool_call>"
	mistralOpen = "[TOOL_CALLS]"
	pythonTag   = "<|python_tag|>"
)

var callOpeners = []string{hermesOpen, mistralOpen, pythonTag}

// Mistral's newer format (Mistral Small 3.2, Magistral, Devstral):
// [TOOL_CALLS]NAME[ARGS]{...}, or NAME[CALL_ID]ID[ARGS]{...}, one
// [TOOL_CALLS] per call; [ARGS] and [CALL_ID] are control tokens.
const (
	mistralArgs   = "[ARGS]"
	mistralCallID = "[CALL_ID]"
	maxToolName   = 256 // a longer name (or call id) before [ARGS] is not one
)

// toolStream reads tool calls from a model's output as it streams in:
// text outside calls is content, given out as it comes (whitespace before
// a possible call and any text that may begin an opener held back); a
// call is given out once its name (a declared tool's) is read and its
// arguments have begun, then its arguments piece by piece, compacted (the
// whitespace outside strings left out). It reads Hermes/Qwen
// <tool_call>{json}</tool_call> blocks, Mistral's [TOOL_CALLS] followed by
// an array of calls, Llama 3.1's <|python_tag|> followed by calls
// separated by ';', and an output that starts with a JSON call object or
// an array of them (the markers' tokens dropped). A call object is
// {"name": ..., "arguments" or "parameters": {...}} (arguments may be a
// JSON string holding the object), other members ignored. A call whose
// arguments turn out malformed after they began is broken: it was given
// out, the rest of its text is not; spoiled then says the output is not
// wholly well-formed calls and text.
type toolStream struct {
	names   map[string]bool
	state   int
	buf     string // text read but not yet consumed
	begun   bool   // text other than whitespace was read
	held    string // whitespace held back from the content
	section string // the text of a marker section consumed so far
	inArray bool   // the section is a JSON array of calls
	mistral bool   // the section's calls get 9-character ids
	// trailing: a marker or bare section of calls ended; text after it
	// means the output is not wholly calls.
	trailing bool
	secCalls int // calls begun in the current section
	cur      *streamCall
	calls    []*streamCall
	spoiled  bool
	out      outDelta
	// types are the JSON Schema types of the tools' parameters (function,
	// parameter), for calls that write values as text (Qwen3-Coder's).
	types map[string]map[string]string
	xml   xmlCall
}

const (
	tsText         = iota // content
	tsHermes              // in a <tool_call> block, reading its object
	tsHermesClose         // after the block's object, before </tool_call>
	tsSkip                // dropping text up to </tool_call>
	tsJSONStart           // after [TOOL_CALLS] or <|python_tag|>: an array or objects
	tsJSONObjStart        // before an object of a section
	tsJSONObj             // reading an object of a section
	tsJSONAfter           // after an object of a section
	tsDrop                // after a broken call of a section: the rest is dropped
	tsMistralName         // after [TOOL_CALLS] (Mistral's newer format): NAME[ARGS]
	tsMistralArgs         // the arguments object after [ARGS]
	tsMistralNext         // after the arguments: another [TOOL_CALLS] or the end
	tsXMLName             // in a <tool_call> block after <function= (Qwen3-Coder): NAME>
	tsXMLParams           // before a <parameter=...> or </function>
	tsXMLValue            // a parameter's value, up to </parameter>
)

func newToolStream(names map[string]bool) *toolStream {
	return &toolStream{names: names}
}

// next reads t and returns what it adds.
func (s *toolStream) next(t string) outDelta {
	s.buf += t
	s.step(false)
	d := s.out
	s.out = outDelta{}
	return d
}

// flush ends the output and returns what was held back.
func (s *toolStream) flush() outDelta {
	s.step(true)
	if len(s.calls) == 0 && s.held != "" {
		s.out.Content += s.held
	}
	s.held = ""
	d := s.out
	s.out = outDelta{}
	return d
}

// result is the calls that ended well-formed.
func (s *toolStream) result() []ToolCall {
	var out []ToolCall
	for _, c := range s.calls {
		if c.ok {
			out = append(out, c.final)
		}
	}
	return out
}

// content gives out text outside calls, holding back trailing whitespace.
func (s *toolStream) content(x string) {
	if x == "" {
		return
	}
	full := s.held + x
	body := strings.TrimRight(full, " \t\r\n")
	s.held = full[len(body):]
	if body != "" {
		if s.trailing {
			s.spoiled = true
		}
		s.out.Content += body
	}
}

// heldPrefix is the length of the longest end of s that begins one of
// markers without being all of it.
func heldPrefix(s string, markers []string) int {
	keep := 0
	for _, m := range markers {
		for k := min(len(s), len(m)-1); k > keep; k-- {
			if strings.HasPrefix(m, s[len(s)-k:]) {
				keep = k
				break
			}
		}
	}
	return keep
}

// firstMarker is where the earliest of markers starts in s and which one
// it is, or -1 and "" when none does.
func firstMarker(s string, markers []string) (int, string) {
	at, which := -1, ""
	for _, m := range markers {
		if i := strings.Index(s, m); i >= 0 && (at < 0 || i < at) {
			at, which = i, m
		}
	}
	return at, which
}

// step consumes as much of buf as can be decided; eof: nothing follows.
func (s *toolStream) step(eof bool) {
	for {
		switch s.state {
		case tsText:
			if !s.begun {
				t := strings.TrimLeft(s.buf, " \t\r\n")
				if t == "" {
					if eof {
						s.content(s.buf)
						s.buf = ""
					}
					return
				}
				if t[0] == '[' && !eof && strings.HasPrefix(mistralOpen, t) {
					return // [TOOL_CALLS] or an array
				}
				s.begun = true
				if t[0] == '{' || (t[0] == '[' && !strings.HasPrefix(t, mistralOpen)) {
					// The whole output may be calls (their marker dropped).
					s.section = s.buf[:len(s.buf)-len(t)]
					s.buf, s.secCalls = t, 0
					s.mistral = t[0] == '['
					s.state = tsJSONStart
					continue
				}
			}
			at, which := firstMarker(s.buf, callOpeners)
			if at < 0 {
				keep := 0
				if !eof {
					keep = heldPrefix(s.buf, callOpeners)
				}
				s.content(s.buf[:len(s.buf)-keep])
				s.buf = s.buf[len(s.buf)-keep:]
				return
			}
			s.content(s.buf[:at])
			s.buf = s.buf[at+len(which):]
			s.section, s.cur, s.secCalls = which, nil, 0
			switch which {
			case hermesOpen:
				s.state = tsHermes
			default:
				s.mistral = which == mistralOpen
				s.state = tsJSONStart
			}
		case tsHermes:
			if t := strings.TrimLeft(s.buf, " \t\r\n"); strings.HasPrefix(t, xmlFunction) {
				s.section += s.buf[:len(s.buf)-len(t)] + xmlFunction
				s.buf, s.state = t[len(xmlFunction):], tsXMLName
				continue
			} else if t == "" || strings.HasPrefix(xmlFunction, t) {
				if !eof {
					return
				}
			}
			pc, ok := s.readCall()
			if !ok {
				continue
			}
			if pc.done {
				ok := s.finish(s.buf[:pc.end])
				s.buf = s.buf[pc.end:]
				if !ok {
					s.state = tsSkip
					continue
				}
				s.state = tsHermesClose
				continue
			}
			if eof {
				s.fail()
				continue
			}
			return
		case tsHermesClose:
			t := strings.TrimLeft(s.buf, " \t\r\n")
			switch {
			case strings.HasPrefix(t, hermesClose):
				s.confirm()
				s.buf, s.state = t[len(hermesClose):], tsText
			case t == "" || strings.HasPrefix(hermesClose, t):
				if !eof {
					return
				}
				s.confirm() // generation ended before </tool_call>
				s.buf, s.state = "", tsText
			default:
				// Text after the object inside the block: the call stands,
				// the text is dropped.
				s.confirm()
				s.spoiled = true
				s.state = tsSkip
			}
		case tsSkip:
			if i := strings.Index(s.buf, hermesClose); i >= 0 {
				s.buf, s.state = s.buf[i+len(hermesClose):], tsText
				continue
			}
			keep := 0
			if !eof {
				keep = heldPrefix(s.buf, []string{hermesClose})
			}
			s.buf = s.buf[len(s.buf)-keep:]
			return
		case tsJSONStart:
			t := strings.TrimLeft(s.buf, " \t\r\n")
			if t == "" {
				if eof {
					s.fail()
					continue
				}
				return
			}
			s.section += s.buf[:len(s.buf)-len(t)]
			if s.section == mistralOpen+s.buf[:len(s.buf)-len(t)] && t[0] != '[' && t[0] != '{' {
				// Mistral's newer format: [TOOL_CALLS]NAME[ARGS]{...}.
				s.buf, s.state = t, tsMistralName
				continue
			}
			s.inArray = t[0] == '['
			if s.inArray {
				s.section += "["
				t = t[1:]
			}
			s.buf, s.state = t, tsJSONObjStart
		case tsJSONObjStart:
			t := strings.TrimLeft(s.buf, " \t\r\n")
			if t == "" {
				if eof {
					if s.inArray || s.sectionCalls() == 0 {
						s.fail()
						continue
					}
					s.endSection()
					continue
				}
				return
			}
			if t[0] != '{' {
				s.fail()
				continue
			}
			s.section += s.buf[:len(s.buf)-len(t)]
			s.buf, s.state, s.cur = t, tsJSONObj, nil
		case tsJSONObj:
			pc, ok := s.readCall()
			if !ok {
				continue
			}
			if pc.done {
				obj := s.buf[:pc.end]
				if !s.finish(obj) {
					s.state = tsDrop
					continue
				}
				s.confirm()
				s.section += obj
				s.buf, s.state = s.buf[pc.end:], tsJSONAfter
				continue
			}
			if eof {
				s.fail()
				continue
			}
			return
		case tsJSONAfter:
			t := strings.TrimLeft(s.buf, " \t\r\n")
			if t == "" {
				if eof {
					if s.inArray {
						s.spoiled = true // the array is not closed
					}
					s.endSection()
					continue
				}
				return
			}
			switch {
			case t[0] == ',' || t[0] == ';':
				s.buf, s.state = t[1:], tsJSONObjStart
			case t[0] == ']' && s.inArray:
				s.buf = t[1:]
				s.inArray = false
				s.endSection()
			default:
				if s.inArray {
					s.spoiled = true
				}
				s.buf = t
				s.endSection()
			}
		case tsDrop:
			s.buf = ""
			return
		case tsXMLName, tsXMLParams, tsXMLValue:
			if !s.stepXML(eof) {
				return
			}
		case tsMistralName:
			const limit = 2*maxToolName + len(mistralCallID) // NAME[CALL_ID]ID
			i := strings.Index(s.buf, mistralArgs)
			if i < 0 && !eof && len(s.buf) <= limit {
				return
			}
			if i < 0 || i > limit {
				s.fail()
				continue
			}
			name, _, _ := strings.Cut(s.buf[:i], mistralCallID)
			if !s.names[name] {
				s.fail()
				continue
			}
			s.section += s.buf[:i+len(mistralArgs)]
			s.buf, s.state, s.cur = s.buf[i+len(mistralArgs):], tsMistralArgs, nil
			s.advance(partialCall{name: name, nameDone: true, argsBegun: true})
		case tsMistralArgs:
			t := strings.TrimLeft(s.buf, " \t\r\n")
			if t == "" {
				if eof {
					s.fail()
					continue
				}
				return
			}
			if t[0] != '{' {
				s.fail()
				continue
			}
			end, complete, _ := jsonValueEnd(t, 0)
			s.advance(partialCall{name: s.cur.name, nameDone: true, argsBegun: true, args: compactJSON(t[:end])})
			if !complete {
				if eof {
					s.fail()
					continue
				}
				return
			}
			q, _ := json.Marshal(s.cur.name)
			if !s.finish(`{"name":` + string(q) + `,"arguments":` + t[:end] + `}`) {
				s.state = tsDrop
				continue
			}
			s.confirm()
			s.buf, s.state = t[end:], tsMistralNext
		case tsMistralNext:
			t := strings.TrimLeft(s.buf, " \t\r\n")
			switch {
			case strings.HasPrefix(t, mistralOpen):
				s.buf, s.state = t[len(mistralOpen):], tsMistralName
			case !eof && strings.HasPrefix(mistralOpen, t):
				return
			default:
				s.buf = t
				s.endSection()
			}
		}
	}
}

// sectionCalls counts the calls of the current section (those after its
// marker or block opener).
func (s *toolStream) sectionCalls() int { return s.secCalls }

// endSection ends a marker or bare section: text after it is content.
func (s *toolStream) endSection() {
	s.state, s.trailing, s.section, s.cur = tsText, true, "", nil
	s.held = ""
}

// readCall scans the JSON call at the start of buf and gives out what of
// it was read well; a call naming no tool offered, or malformed, fails the
// section (ok false).
func (s *toolStream) readCall() (pc partialCall, ok bool) {
	pc = scanCall(s.buf)
	if pc.nameDone && !s.names[pc.name] {
		s.fail()
		return pc, false
	}
	// What was read well is given out before a flaw is handled, so that
	// the pieces the output comes in do not matter.
	s.advance(pc)
	if pc.bad || (pc.done && !pc.nameDone) {
		s.fail()
		return pc, false
	}
	return pc, true
}

// fail handles text after an opener that is not a well-formed call: a
// call already given out is broken and the rest of its block or section
// dropped; else the opener and the text read are content.
func (s *toolStream) fail() {
	s.spoiled = true
	if s.cur != nil && s.cur.started {
		s.cur.broken = true
		s.cur = nil
		if s.state == tsHermes || s.state == tsXMLName || s.state == tsXMLParams || s.state == tsXMLValue {
			s.state = tsSkip
		} else {
			s.state = tsDrop
		}
		return
	}
	s.cur = nil
	if s.secCalls > 0 {
		s.endSection() // the rest is text after the section's calls
		return
	}
	s.content(s.section)
	s.section = ""
	s.state = tsText
}

// advance gives out what a further read of the current call shows.
func (s *toolStream) advance(pc partialCall) {
	if s.cur == nil {
		s.cur = &streamCall{}
	}
	c := s.cur
	if !c.started && pc.nameDone && (pc.argsBegun || pc.done) {
		c.started, c.name, c.index = true, pc.name, len(s.calls)
		if s.mistral {
			c.id = alnumID(9) // Mistral's templates take 9-character ids
		} else {
			c.id = newID("call_")
		}
		s.calls = append(s.calls, c)
		s.secCalls++
		s.out.Calls = append(s.out.Calls, callDelta{Index: c.index, ID: c.id, Name: c.name})
	}
	if c.started && len(pc.args) > len(c.sent) && strings.HasPrefix(pc.args, c.sent) {
		s.out.Calls = append(s.out.Calls, callDelta{Index: c.index, Args: pc.args[len(c.sent):]})
		c.sent = pc.args
	}
}

// finish checks the current call's whole object; a call that is not
// well-formed is broken.
func (s *toolStream) finish(obj string) bool {
	c := s.cur
	tc, ok := callFromJSON([]byte(obj), s.names)
	if !ok || !c.started || !strings.HasPrefix(tc.Function.Arguments, c.sent) {
		if c.started {
			c.broken = true
		}
		s.spoiled = true
		s.cur = nil
		return false
	}
	if rest := tc.Function.Arguments[len(c.sent):]; rest != "" {
		s.out.Calls = append(s.out.Calls, callDelta{Index: c.index, Args: rest})
		c.sent = tc.Function.Arguments
	}
	var withID struct {
		ID string `json:"id"`
	}
	if json.Unmarshal([]byte(obj), &withID); withID.ID == "" {
		tc.ID = c.id
	}
	c.final = tc
	return true
}

// confirm ends the current call well-formed.
func (s *toolStream) confirm() {
	if c := s.cur; c != nil && c.started && !c.broken {
		c.ok = true
		s.out.Done = append(s.out.Done, c.final)
	}
	s.cur = nil
}
