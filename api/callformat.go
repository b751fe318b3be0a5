package api

import (
	"bytes"
	"encoding/json"
	"slices"

	"github.com/orbitswarm/orbit/api/jsonprefix"
	"github.com/orbitswarm/orbit/engine/tokenizer"
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
//   - a format that writes the arguments bare after the name (gpt-oss
//     harmony, Mistral's [TOOL_CALLS]NAME[ARGS]): with the name
//     prefilled, the output is the arguments' object; else it first
//     writes one of the names bare, then the format's text and control
//     tokens up to the arguments (seq), then that tool's arguments.
//
// When the call's JSON has closed, the generation ends with it when one
// call is wanted; else (release, a Hermes block) whitespace, the end of
// generation or the block's closing marker (post) may follow, then the
// constraint ends: more calls are the model's. Tokens of the format's
// markers (banned) are kept out of the output but where they are a step.
type callFormat struct {
	start   jsonState
	release bool
	// naming: the tools' names as JSON writes them, unquoted, or bare;
	// pre the state after names[i] and its closing quote (bare: and seq),
	// preLen their completionLen.
	names  [][]byte
	pre    []jsonState
	preLen []int
	// bare: the name is written as it is, then seq (text and control
	// tokens: tokens lists them), then the arguments (pre).
	bare   bool
	seq    []callStep
	seqLen int // the sum of seq's costs
	// post: after the call's JSON (whitespace, the end of generation,
	// or this), with release: the format's closing marker.
	post   []callStep
	tokens []int32 // the tokens of seq and post's steps
	// banned are tokens the output may not write but as a step: tokens
	// and the format's other markers (a reader would take them for
	// markers even inside a JSON string).
	banned []int32
}

// callStep is a step between a bare name and the arguments: a control
// token (tok), or text.
type callStep struct {
	text []byte
	tok  int32 // -1: text
}

// cost is what the step adds to a completion: a token counts one.
func (st callStep) cost() int {
	if st.tok >= 0 {
		return 1
	}
	return len(st.text)
}

// maxCallNames is how many tools a constrained "required" call chooses
// among (a bit each); with more, the call is not constrained.
const maxCallNames = 64

// newCallFormat returns the constraint of a call started by cs, of
// function name ("": any of tools); nil when the format's call cannot be
// constrained (Qwen3-Coder's XML, a name written before a control token).
func newCallFormat(cs callStart, name string, tools []Tool, tok *tokenizer.Tokenizer, release bool) *callFormat {
	cf := newCallStart(cs, name, tools, tok)
	if cf == nil {
		return nil
	}
	cf.release = release
	if release {
		cf.post = cf.steps(cs.after, tok)
	}
	cf.banned = append(cf.banned, cf.tokens...)
	for _, m := range cs.markers {
		if id, ok := tok.TokenID(m); ok && !slices.Contains(cf.banned, id) {
			cf.banned = append(cf.banned, id)
		}
	}
	// Every state of the call knows its format.
	cf.start.calls = cf
	for i := range cf.pre {
		cf.pre[i].calls = cf
	}
	return cf
}

// steps are markers as steps: a marker that is a special token of tok
// (control or user-defined: a model writes it so) is that token, else
// its text (" ", "json").
func (cf *callFormat) steps(markers []string, tok *tokenizer.Tokenizer) []callStep {
	var out []callStep
	for _, m := range markers {
		id, ok := tok.TokenID(m)
		ty := tok.TokenType(id)
		if ok && (ty == tokenizer.TokenControl || ty == tokenizer.TokenUserDefined || len(tok.TokenPiece(id)) == 0) {
			out = append(out, callStep{tok: id})
			cf.tokens = append(cf.tokens, id)
		} else {
			out = append(out, callStep{text: []byte(m), tok: -1})
		}
	}
	return out
}

// newCallStart is newCallFormat but for release and what it implies.
func newCallStart(cs callStart, name string, tools []Tool, tok *tokenizer.Tokenizer) *callFormat {
	args := func(t Tool) jsonState {
		st := jsonState{p: jsonprefix.New(true)}
		if s := argsSchema(t); s != nil {
			st.p = jsonprefix.NewSchema(s)
		}
		return st
	}
	if cs.argsOnly {
		if name == "" {
			return nil
		}
		return &callFormat{start: args(toolNamed(tools, name))}
	}
	if cs.bareName != nil {
		if name != "" || len(tools) == 0 || len(tools) > maxCallNames {
			return nil
		}
		cf := &callFormat{bare: true}
		cf.seq = cf.steps(cs.bareName, tok)
		for _, st := range cf.seq {
			cf.seqLen += st.cost()
		}
		for _, t := range tools {
			st := args(t)
			cf.names = append(cf.names, []byte(t.Function.Name))
			cf.pre = append(cf.pre, st)
			cf.preLen = append(cf.preLen, st.completionLen())
		}
		cf.start = jsonState{naming: true, nmask: 1<<len(tools) - 1, calls: cf}
		return cf
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
// ARGS}, both required, nothing else. The arguments' schema becomes a
// definition of the call's, beside its own definitions ($ref "#" in it
// names it).
func callSchema(t Tool, key string) *jsonprefix.Schema {
	args, _ := rerootRefs(argsValue(t)).(map[string]any)
	defs := map[string]any{callArgsDef: args}
	v := map[string]any{
		"type": "object",
		"properties": map[string]any{
			"name": map[string]any{"enum": []any{t.Function.Name}},
			key:    map[string]any{"$ref": "#/$defs/" + callArgsDef},
		},
		"required": []any{"name", key},
		"$defs":    defs,
	}
	if d, ok := args["$defs"].(map[string]any); ok {
		for n, s := range d {
			if n != callArgsDef {
				defs[n] = s
			}
		}
	}
	if d, ok := args["definitions"]; ok {
		v["definitions"] = d
	}
	s, err := jsonprefix.Compile(v)
	if err != nil {
		return nil // cannot happen: argsValue compiles
	}
	return s
}

// callArgsDef names the arguments' schema among a call schema's $defs.
const callArgsDef = "orbit-call-arguments"

// rerootRefs is v with every $ref to the document's root ("#") made one
// to the definition callArgsDef.
func rerootRefs(v any) any {
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, x := range v {
			if r, ok := x.(string); ok && k == "$ref" && r == "#" {
				out[k] = "#/$defs/" + callArgsDef
				continue
			}
			out[k] = rerootRefs(x)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = rerootRefs(x)
		}
		return out
	}
	return v
}

// feedName advances a state that is writing a call's name over ch: a
// byte of one of the names, or after a whole one the closing quote (a
// JSON name), which goes on in that tool's call object, or the first
// byte of calls.seq (a bare name).
func (s *jsonState) feedName(ch byte) bool {
	names := s.calls.names
	if ch == '"' && !s.calls.bare {
		if i := s.nameWritten(); i >= 0 {
			*s = s.calls.pre[i]
			return true
		}
		return false
	}
	var m uint64
	for i, n := range names {
		if s.nmask&(1<<i) != 0 && int(s.npos) < len(n) && n[s.npos] == ch {
			m |= 1 << i
		}
	}
	if m != 0 {
		s.nmask, s.npos = m, s.npos+1
		return true
	}
	if i := s.nameWritten(); s.calls.bare && i >= 0 && s.calls.seq[0].tok < 0 {
		s.naming, s.inSeq, s.pick, s.step, s.spos = false, true, int16(i), 0, 0
		return s.feedSeq(ch)
	}
	return false
}

// nameWritten is the tool whose whole name has been written (-1: none).
func (s *jsonState) nameWritten() int {
	for i, n := range s.calls.names {
		if s.nmask&(1<<i) != 0 && len(n) == int(s.npos) {
			return i
		}
	}
	return -1
}

// feedSeq advances over ch in calls.seq: the next byte of its text.
func (s *jsonState) feedSeq(ch byte) bool {
	st := s.seq()[s.step]
	if st.tok >= 0 || st.text[s.spos] != ch {
		return false
	}
	s.spos++
	if int(s.spos) == len(st.text) {
		s.nextStep()
	}
	return true
}

// nextStep moves past a step of calls.seq; after the last, the tool's
// arguments come.
func (s *jsonState) nextStep() {
	s.step, s.spos = s.step+1, 0
	switch {
	case int(s.step) < len(s.seq()):
	case s.post:
		s.inSeq, s.post, s.done = false, false, true
	default:
		*s = s.calls.pre[s.pick]
	}
}

// seq is the steps inSeq walks: calls.seq or calls.post.
func (s *jsonState) seq() []callStep {
	if s.post {
		return s.calls.post
	}
	return s.calls.seq
}

// feedToken advances over a control token (one without a piece): it must
// be the step of calls.seq that comes (after a whole bare name, the
// first).
func (s *jsonState) feedToken(id int32) bool {
	switch {
	case s.naming && s.calls.bare:
		i := s.nameWritten()
		if i < 0 || s.calls.seq[0].tok != id {
			return false
		}
		s.naming, s.inSeq, s.pick, s.step = false, true, int16(i), 0
		s.nextStep()
		return true
	case s.inSeq && s.seq()[s.step].tok == id:
		s.nextStep()
		return true
	case !s.outside() && !s.done && s.calls.post != nil && s.calls.post[0].tok == id && s.p.Closed():
		s.inSeq, s.post, s.step = true, true, 0
		s.nextStep()
		return true
	}
	return false
}

// callCompletionLen is completionLen before a call's JSON: the shortest
// of the names it may be, what follows it (a control token counts one),
// and its call completed.
func (s *jsonState) callCompletionLen() int {
	cf := s.calls
	if s.inSeq {
		n := -int(s.spos)
		if !s.post {
			n += cf.preLen[s.pick]
		}
		for _, st := range s.seq()[s.step:] {
			n += st.cost()
		}
		return n
	}
	best := -1
	for i, n := range cf.names {
		if s.nmask&(1<<i) != 0 {
			if l := len(n) - int(s.npos) + cf.seqLen + cf.preLen[i]; best < 0 || l < best {
				best = l
			}
		}
	}
	return best
}
