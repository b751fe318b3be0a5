package api

import (
	"bytes"
	"encoding/json"

	"github.com/orbitswarm/orbit/api/jsonprefix"
)

// callFormat constrains the output of a tool_choice "required" or named
// call to a call that parses and whose arguments follow the tool's
// parameters schema (within jsonprefix's subset; a tool whose schema has
// other keywords gets any JSON object), through the JSON mask:
//   - a format that writes the call as a JSON object (Hermes/Qwen
//     <tool_call>, Llama 3.1, Mistral's [TOOL_CALLS] array): the object,
//     its start prefilled, must be {"name": NAME, KEY: ARGS} of a declared
//     tool. With the name prefilled (a named function) the output goes on
//     in the object; else it first writes one of the tools' names (start
//     naming), then the object of that tool (pre).
//   - a format that writes the arguments bare after a prefilled name
//     (gpt-oss harmony, Mistral's [ARGS]): the output is the arguments'
//     object.
//
// When the call's JSON has closed, the generation ends with it when one
// call is wanted; else (release) the constraint ends, and what the format
// writes after it (a closing tag, more calls) is the model's.
type callFormat struct {
	start   jsonState
	release bool
	names   [][]byte    // naming: the tools' names as JSON writes them, unquoted
	pre     []jsonState // naming: the state after names[i] and its closing quote
	preLen  []int       // their completionLen
}

// maxCallNames is how many tools a constrained "required" call chooses
// among (a bit each); with more, the call is not constrained.
const maxCallNames = 64

// newCallFormat returns the constraint of a call started by cs, of
// function name ("": any of tools); nil when the format's call cannot be
// constrained (Qwen3-Coder's XML, a name written before a control token).
func newCallFormat(cs callStart, name string, tools []Tool, release bool) *callFormat {
	cf := newCallStart(cs, name, tools)
	if cf != nil {
		cf.release = release
	}
	return cf
}

func newCallStart(cs callStart, name string, tools []Tool) *callFormat {
	if cs.argsOnly {
		if name == "" {
			return nil
		}
		st := jsonState{p: jsonprefix.New(true)}
		if s := argsSchema(toolNamed(tools, name)); s != nil {
			st.p = jsonprefix.NewSchema(s)
		}
		return &callFormat{start: st}
	}
	if cs.obj < 0 {
		return nil
	}
	head := []byte(cs.prefill[cs.obj:])
	if name != "" {
		st := jsonState{p: jsonprefix.NewSchema(callSchema(toolNamed(tools, name), cs.key))}
		if !st.write(head) {
			return nil
		}
		return &callFormat{start: st}
	}
	if len(tools) == 0 || len(tools) > maxCallNames {
		return nil
	}
	cf := &callFormat{}
	for _, t := range tools {
		enc, _ := json.Marshal(t.Function.Name)
		enc = enc[1 : len(enc)-1]
		st := jsonState{p: jsonprefix.NewSchema(callSchema(t, cs.key))}
		if !st.write(head) || !st.write(enc) || !st.write([]byte{'"'}) {
			return nil
		}
		cf.names = append(cf.names, enc)
		cf.pre = append(cf.pre, st)
		cf.preLen = append(cf.preLen, st.completionLen())
	}
	cf.start = jsonState{naming: true, nmask: 1<<len(tools) - 1, calls: cf}
	if len(tools) == maxCallNames {
		cf.start.nmask = ^uint64(0)
	}
	return cf
}

// toolNamed is the tool of function name (a checked tool_choice names one).
func toolNamed(tools []Tool, name string) Tool {
	for _, t := range tools {
		if t.Function.Name == name {
			return t
		}
	}
	return Tool{}
}

// argsValue is t's parameters schema as a JSON value, made an object's
// ({"type": "object"} when it has none, or jsonprefix does not take it).
func argsValue(t Tool) any {
	anyObject := map[string]any{"type": "object"}
	var m map[string]any
	if p := bytes.TrimSpace(t.Function.Parameters); len(p) == 0 || json.Unmarshal(p, &m) != nil || m == nil {
		return anyObject
	}
	obj := make(map[string]any, len(m)+1)
	for k, v := range m {
		obj[k] = v
	}
	obj["type"] = "object"
	if _, err := jsonprefix.Compile(obj); err != nil {
		return anyObject
	}
	return obj
}

// argsSchema is t's arguments schema, compiled (nil: any object).
func argsSchema(t Tool) *jsonprefix.Schema {
	s, err := jsonprefix.Compile(argsValue(t))
	if err != nil {
		return nil
	}
	return s
}

// callSchema is the schema of a call object of t: {"name": NAME, key:
// ARGS}, both required, nothing else.
func callSchema(t Tool, key string) *jsonprefix.Schema {
	v := map[string]any{
		"type": "object",
		"properties": map[string]any{
			"name": map[string]any{"enum": []any{t.Function.Name}},
			key:    argsValue(t),
		},
		"required": []any{"name", key},
	}
	s, err := jsonprefix.Compile(v)
	if err != nil {
		return nil // cannot happen: argsValue compiles
	}
	return s
}

// feedName advances a state that is writing a call's name over ch: a
// byte of one of the names, or the closing quote after a whole one,
// which goes on in that tool's call object.
func (s *jsonState) feedName(ch byte) bool {
	names := s.calls.names
	if ch == '"' {
		for i, n := range names {
			if s.nmask&(1<<i) != 0 && len(n) == int(s.npos) {
				*s = s.calls.pre[i]
				return true
			}
		}
		return false
	}
	var m uint64
	for i, n := range names {
		if s.nmask&(1<<i) != 0 && int(s.npos) < len(n) && n[s.npos] == ch {
			m |= 1 << i
		}
	}
	if m == 0 {
		return false
	}
	s.nmask, s.npos = m, s.npos+1
	return true
}

// nameCompletionLen is completionLen while the name is written: the
// shortest of the names it may be, closed, and its call completed.
func (s *jsonState) nameCompletionLen() int {
	best := -1
	for i, n := range s.calls.names {
		if s.nmask&(1<<i) != 0 {
			if l := len(n) - int(s.npos) + 1 + s.calls.preLen[i]; best < 0 || l < best {
				best = l
			}
		}
	}
	return best
}
