package api

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"math"
	"slices"

	"github.com/orbitswarm/orbit/api/jsonprefix"
	"github.com/orbitswarm/orbit/engine/speculate"
	"github.com/orbitswarm/orbit/engine/tokenizer"
)

// outputFormat is a request's constraint on the form of its output:
// OpenAI's response_format {"type": "json_object"} and ollama's format
// "json" ask for one JSON object. Sampling then only picks tokens that
// keep the output a prefix of one, and the generation ends with it.
type outputFormat struct {
	object bool               // the top-level value is an object
	schema *jsonprefix.Schema // the value follows this schema
	// call, when set, is a tool call's constraint instead (see
	// newCallFormat): once the call's JSON has closed, the output is free.
	call *callFormat
}

// maxJSONSpace is the longest run of whitespace outside strings a
// constrained output may write (as llama.cpp's JSON grammar, about a
// newline and indentation): a model that keeps writing newlines must go
// on with the value instead. Before the value, one byte at most (a
// token's leading space).
const (
	maxJSONSpace     = 20
	maxJSONLeadSpace = 1
)

// parseResponseFormat reads OpenAI's response_format: absent or "text" is
// no constraint (nil).
func parseResponseFormat(raw json.RawMessage) (*outputFormat, error) {
	if t := bytes.TrimSpace(raw); len(t) == 0 || bytes.Equal(t, []byte("null")) {
		return nil, nil
	}
	var rf struct {
		Type       string `json:"type"`
		JSONSchema *struct {
			Schema json.RawMessage `json:"schema"`
		} `json:"json_schema"`
	}
	if err := json.Unmarshal(raw, &rf); err != nil {
		return nil, badRequest("response_format", "invalid_value", `response_format must be an object such as {"type": "json_object"}: %v`, err)
	}
	switch rf.Type {
	case "text":
		return nil, nil
	case "json_object":
		return &outputFormat{object: true}, nil
	case "json_schema":
		if rf.JSONSchema == nil || len(rf.JSONSchema.Schema) == 0 {
			return nil, badRequest("response_format.json_schema.schema", "invalid_value", `response_format type "json_schema" needs json_schema.schema`)
		}
		return compileSchema("response_format.json_schema.schema", rf.JSONSchema.Schema)
	}
	return nil, badRequest("response_format.type", "invalid_value", `response_format type must be "text", "json_object" or "json_schema", got %q`, rf.Type)
}

// parseOllamaFormat reads ollama's format: absent or "" is no constraint,
// "json" one JSON object.
func parseOllamaFormat(raw json.RawMessage) (*outputFormat, error) {
	if t := bytes.TrimSpace(raw); len(t) == 0 || bytes.Equal(t, []byte("null")) {
		return nil, nil
	}
	if t := bytes.TrimSpace(raw); t[0] == '{' {
		return compileSchema("format", raw)
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, badRequest("format", "invalid_value", `format must be "json" or a JSON schema`)
	}
	switch s {
	case "":
		return nil, nil
	case "json":
		return &outputFormat{object: true}, nil
	}
	return nil, badRequest("format", "invalid_value", `format must be "json" or a JSON schema, got %q`, s)
}

// compileSchema reads a JSON schema of the subset jsonprefix.Compile
// takes; others are a 400 naming what is not supported.
func compileSchema(param string, raw json.RawMessage) (*outputFormat, error) {
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, badRequest(param, "invalid_value", "%s is not valid JSON: %v", param, err)
	}
	sch, err := jsonprefix.Compile(v)
	if err != nil {
		return nil, badRequest(param, "unsupported_value", "%s: %v", param, err)
	}
	return &outputFormat{schema: sch}, nil
}

// jsonConstraint constrains one generation to JSON: before each token is
// chosen, mask sets the logit of every token whose bytes cannot extend
// the output to a valid prefix to -Inf (so greedy decoding takes the best
// allowed token and sampling draws among the allowed ones with its seeded
// stream); advance follows the chosen token.
type jsonConstraint struct {
	tok  *tokenizer.Tokenizer
	trie *vocabTrie
	st   jsonState
	left int // tokens the generation may still write
	w    maskWalk
	// call: a tool call's constraint. A token outside the mask (from a
	// backend that does not mask) ends it rather than the generation:
	// the call reader judges the output. release: once the value has
	// closed (and the format's closing marker, if it comes, is written),
	// the constraint ends (off) and the generation goes on (more calls
	// may follow); else the generation ends with the value.
	call, release, off bool
}

// jsonState is where a constrained output is: the recognizer and the
// trailing run of whitespace outside strings; or, before a tool call's
// JSON, while its name is written (naming) which of calls' names it may
// still be, then (inSeq) how far into the text and tokens between the
// name and the arguments (calls.seq) it is; or how far into the closing
// marker after the JSON (inSeq and post). It is a value: a copy is a
// clone.
type jsonState struct {
	p  jsonprefix.Parser
	sp int

	naming, inSeq bool
	npos          int32  // bytes of the name written
	nmask         uint64 // the names it may be (bits of calls.names)
	step, pick    int16  // inSeq: the step of calls.seq, the tool named
	spos          int32  // inSeq: bytes of the step's text written
	// post: inSeq is in calls.post, after the call's JSON; done: past
	// it, the constraint is over.
	post, done bool
	calls      *callFormat
}

// outside reports whether the output is outside the call's JSON: its
// name (or what follows it) before, or the format's text after it (post).
func (s *jsonState) outside() bool { return s.naming || s.inSeq }

func newJSONConstraint(f *outputFormat, tok *tokenizer.Tokenizer, trie *vocabTrie, maxTokens int) *jsonConstraint {
	c := &jsonConstraint{tok: tok, trie: trie, st: jsonState{p: jsonprefix.New(f.object)}, left: maxTokens}
	switch {
	case f.call != nil:
		c.st, c.call, c.release = f.call.start, true, f.call.release
	case f.schema != nil:
		c.st.p = jsonprefix.NewSchema(f.schema)
	}
	return c
}

// feed advances s over ch; false when ch does not keep the output a
// valid prefix or writes too much whitespace.
func (s *jsonState) feed(ch byte) bool {
	if s.naming {
		return s.feedName(ch)
	}
	if s.inSeq {
		return s.feedSeq(ch)
	}
	if s.calls != nil && s.calls.post != nil && s.p.Closed() && !isJSONSpace(ch) {
		s.inSeq, s.post, s.step, s.spos = true, true, 0, 0
		return s.feedSeq(ch)
	}
	if !s.p.Feed(ch) {
		return false
	}
	if isJSONSpace(ch) && !s.p.InString() {
		s.sp++
		if s.sp > maxJSONSpace || (s.sp > maxJSONLeadSpace && !s.p.Started()) {
			return false
		}
	} else {
		s.sp = 0
	}
	return true
}

// write feeds every byte of b.
func (s *jsonState) write(b []byte) bool {
	for _, ch := range b {
		if !s.feed(ch) {
			return false
		}
	}
	return true
}

// countedTail is Parser.CountedTail of the output's JSON.
func (s *jsonState) countedTail() (int, bool) {
	if s.outside() {
		return 0, false
	}
	return s.p.CountedTail()
}

// countedString is Parser.CountedString of the output's JSON.
func (s *jsonState) countedString() (n, lo, hi int, ok bool) {
	if s.outside() {
		return 0, 0, 0, false
	}
	return s.p.CountedString()
}

// plainString reports whether every plainByte leaves s as it is.
func (s *jsonState) plainString() bool { return !s.outside() && s.p.PlainString() }

// complete reports whether the output is a whole value.
func (s *jsonState) complete() bool { return !s.outside() && s.p.Complete() }

// completionLen is the length of the shortest text that completes the
// output.
func (s *jsonState) completionLen() int {
	if s.outside() {
		return s.callCompletionLen()
	}
	return s.p.CompletionLen()
}

// span is a run of the trie's sorted tokens, ids[lo:hi].
type span struct{ lo, hi int32 }

// maskWalk is one walk of the trie: the tokens that keep the output a
// valid prefix (allowed) and those of them after which the shortest
// completion still fits in the tokens left (closing), as runs of the
// trie's tokens in order.
type maskWalk struct {
	t                *vocabTrie
	tok              *tokenizer.Tokenizer
	room             int
	rootLen          int
	allowed, closing []span
	// ctlAllowed, ctlClosing: the same of the tokens the trie walk
	// leaves out (the end of generation after a whole value, the tokens
	// of a tool call's steps).
	ctlAllowed, ctlClosing []int32
	// scratch: the states along the walk's path, by depth, and whether
	// each is known to be the root's; kept logits
	stack []jsonState
	same  []bool
	// rest: the state is in the counted string the root is in (see
	// jsonprefix.Parser.CountedTail), so its completion is rootRest and
	// the string's.
	rest     []bool
	rootRest int
	keep     []float32
}

// add records the tokens ids[lo:hi], after which the shortest completion
// is n long.
func (w *maskWalk) add(lo, hi int32, n int) {
	w.allowed = addSpan(w.allowed, lo, hi)
	if n <= w.room {
		w.closing = addSpan(w.closing, lo, hi)
	}
}

func addSpan(s []span, lo, hi int32) []span {
	if k := len(s) - 1; k >= 0 && s[k].hi == lo {
		s[k].hi = hi
		return s
	}
	return append(s, span{lo, hi})
}

// lenOf is the completionLen of w.stack[d] (the root's is known, and so
// is that of a state the walk knows equal to it: see same).
func (w *maskWalk) lenOf(d int) int {
	if w.same[d] {
		return w.rootLen
	}
	if w.rest[d] {
		if tail, ok := w.stack[d].countedTail(); ok {
			return w.rootRest + tail
		}
	}
	return w.stack[d].completionLen()
}

// visit walks the children of node ni, whose prefix took the output to
// w.stack[d]. In a string, a run of children whose bytes are all plain
// text is allowed whole without a walk: its tokens leave the state as it
// is.
func (w *maskWalk) visit(ni int32, d int) {
	if d+1 == len(w.stack) {
		w.stack, w.same, w.rest = append(w.stack, jsonState{}), append(w.same, false), append(w.rest, false)
	}
	nd := &w.t.nodes[ni]
	if n, lo, hi, ok := w.stack[d].countedString(); ok {
		w.visitCounted(nd, d, n, lo, hi)
		return
	}
	if w.stack[d].plainString() {
		stLen := w.lenOf(d)
		for _, it := range w.t.items[nd.item:nd.iend] {
			if it.kid < 0 {
				w.add(it.lo, it.hi, stLen)
			} else {
				w.child(it.kid, d, true)
			}
		}
		return
	}
	for k := nd.kids; k < nd.kend; k++ {
		w.child(k, d, false)
	}
}

// visitCounted is visit in a string whose characters are counted (n so
// far, lo to hi in all): a token of a run of plain text whose piece is
// valid UTF-8 adds its characters past the node's prefix, and is allowed
// when they fit; the other tokens of runs are fed byte by byte.
func (w *maskWalk) visitCounted(nd *trieNode, d, n, lo, hi int) {
	stLen := w.lenOf(d) - max(0, lo-n)
	for _, it := range w.t.items[nd.item:nd.iend] {
		if it.kid >= 0 {
			w.child(it.kid, d, false)
			continue
		}
		if it.runes.lo >= 0 {
			kmin, kmax := int(it.runes.lo-nd.runes), int(it.runes.hi-nd.runes)
			switch {
			case (hi < 0 || n+kmax <= hi) && n+kmin >= lo:
				w.add(it.lo, it.hi, stLen)
				continue
			case hi >= 0 && n+kmin > hi:
				continue
			}
		}
		for i := it.lo; i < it.hi; i++ {
			if i%runeBlock == 0 && i+runeBlock <= it.hi {
				// A block whose tokens all fit and need no padding,
				// or none fits.
				if b := w.t.blocks[i/runeBlock]; b.lo >= 0 {
					kmin, kmax := int(b.lo-nd.runes), int(b.hi-nd.runes)
					switch {
					case (hi < 0 || n+kmax <= hi) && n+kmin >= lo:
						w.add(i, i+runeBlock, stLen)
						i += runeBlock - 1
						continue
					case hi >= 0 && n+kmin > hi:
						i += runeBlock - 1
						continue
					}
				}
			}
			r := w.t.runes[i]
			if r < 0 {
				// Not whole characters: the string's completion
				// changes, the rest of it (the closers) not.
				q := w.stack[d]
				if q.write(w.tok.TokenPiece(w.t.ids[i])[d:]) {
					if tail, ok := q.countedTail(); ok {
						w.add(i, i+1, stLen-1+tail)
					} else {
						w.add(i, i+1, q.completionLen())
					}
				}
				continue
			}
			k := int(r - nd.runes)
			if hi < 0 || n+k <= hi {
				w.add(i, i+1, stLen+max(0, lo-n-k))
			}
		}
	}
}

// child walks child k of a node whose prefix took the output to
// w.stack[d] (plain: a state of plainString).
func (w *maskWalk) child(k int32, d int, plain bool) {
	ch := &w.t.nodes[k]
	q := &w.stack[d+1]
	*q = w.stack[d]
	// Plain text in a string leaves the state as it was.
	w.same[d+1] = plain && w.same[d] && plainByte(ch.b)
	if !q.feed(ch.b) {
		return
	}
	w.rest[d+1] = false
	if w.rest[d] {
		_, w.rest[d+1] = q.countedTail()
	}
	if ch.ends > 0 {
		w.add(ch.lo, ch.lo+ch.ends, w.lenOf(d+1))
	}
	if ch.kids < ch.kend {
		w.visit(k, d+1)
	}
}

// count is how many tokens of spans are below n (the logits' length),
// banned ones aside.
func (w *maskWalk) count(spans []span, n int, banned []int32) int {
	total := 0
	for _, id := range banned {
		p := w.t.pos[id]
		if p < 0 || int(id) >= n {
			continue
		}
		k, _ := slices.BinarySearchFunc(spans, p, func(s span, p int32) int { return cmp.Compare(s.hi, p+1) })
		if k < len(spans) && spans[k].lo <= p {
			total--
		}
	}
	for _, s := range spans {
		if w.t.n <= n {
			total += int(s.hi - s.lo)
			continue
		}
		for _, id := range w.t.ids[s.lo:s.hi] {
			if int(id) < n {
				total++
			}
		}
	}
	return total
}

// mask sets the logits of the tokens not allowed next to -Inf. Of the
// tokens that keep the output a valid prefix, only those after which the
// shortest completion of the value is no longer than the tokens left are
// allowed (when the vocabulary has any), so the value closes in time
// (each token can write at least a byte of that completion).
func (c *jsonConstraint) mask(logits []float32) {
	if c.off {
		return
	}
	w := &c.w
	w.t, w.tok, w.room = c.trie, c.tok, c.left-1
	w.rootLen = c.st.completionLen()
	w.allowed, w.closing = w.allowed[:0], w.closing[:0]
	w.ctlAllowed, w.ctlClosing = w.ctlAllowed[:0], w.ctlClosing[:0]
	w.stack, w.same = append(w.stack[:0], c.st), append(w.same[:0], true)
	tail, inCounted := c.st.countedTail()
	w.rest, w.rootRest = append(w.rest[:0], inCounted), w.rootLen-tail
	w.visit(0, 0)
	var banned []int32
	if c.st.calls != nil {
		banned = c.st.calls.banned
	}
	if c.st.complete() {
		for _, id := range c.trie.eog {
			if int(id) < len(logits) && !slices.Contains(banned, id) {
				w.ctlAllowed, w.ctlClosing = append(w.ctlAllowed, id), append(w.ctlClosing, id)
			}
		}
	}
	if c.st.calls != nil {
		for _, id := range c.st.calls.tokens {
			if q := c.st; int(id) < len(logits) && q.feedToken(id) {
				w.ctlAllowed = append(w.ctlAllowed, id)
				if q.completionLen() <= w.room {
					w.ctlClosing = append(w.ctlClosing, id)
				}
			}
		}
	}
	keep, ctl := w.closing, w.ctlClosing
	n := w.count(keep, len(logits), banned) + len(ctl)
	if n == 0 {
		keep, ctl = w.allowed, w.ctlAllowed
		n = w.count(keep, len(logits), banned) + len(ctl)
	}
	if n == 0 {
		return // advance refuses whatever comes
	}
	w.apply(logits, keep, ctl, n)
	for _, id := range banned {
		if int(id) < len(logits) && !slices.Contains(ctl, id) {
			logits[id] = float32(math.Inf(-1))
		}
	}
}

// apply sets to -Inf the logits of every token but those of keep and ctl
// (tokens without a piece; n in all): when few are kept, by saving
// theirs and filling the rest; else by masking the runs between the kept
// ones.
func (w *maskWalk) apply(logits []float32, keep []span, ctl []int32, n int) {
	ninf := float32(math.Inf(-1))
	ids := w.t.ids
	if n < len(logits)/2 {
		w.keep = w.keep[:0]
		for _, s := range keep {
			for _, id := range ids[s.lo:s.hi] {
				if int(id) < len(logits) {
					w.keep = append(w.keep, logits[id])
				}
			}
		}
		for _, id := range ctl {
			w.keep = append(w.keep, logits[id])
		}
		for i := range logits {
			logits[i] = ninf
		}
		k := 0
		for _, s := range keep {
			for _, id := range ids[s.lo:s.hi] {
				if int(id) < len(logits) {
					logits[id] = w.keep[k]
					k++
				}
			}
		}
		for _, id := range ctl {
			logits[id] = w.keep[k]
			k++
		}
		return
	}
	off := func(lo, hi int32) {
		for _, id := range ids[lo:hi] {
			if int(id) < len(logits) {
				logits[id] = ninf
			}
		}
	}
	at := int32(0)
	for _, s := range keep {
		off(at, s.lo)
		at = s.hi
	}
	off(at, int32(len(ids)))
	for _, id := range w.t.empty {
		if int(id) < len(logits) && !slices.Contains(ctl, id) {
			logits[id] = ninf
		}
	}
	for i := w.t.n; i < len(logits); i++ {
		logits[i] = ninf // outside the vocabulary
	}
}

// advance follows the chosen token; closed reports that the value has
// ended and nothing but whitespace may follow.
// With release, the constraint ends there instead and closed stays
// false.
func (c *jsonConstraint) advance(tok int32) (closed bool, err error) {
	if c.off {
		return false, nil
	}
	c.left--
	var ok bool
	if c.st.calls != nil && slices.Contains(c.st.calls.tokens, tok) {
		ok = c.st.feedToken(tok)
	} else {
		ok = c.st.write(c.tok.TokenPiece(tok))
	}
	if !ok {
		if c.call {
			c.off = true
			return false, nil
		}
		return false, fmt.Errorf("api: no token of the vocabulary continues the JSON output (token %d)", tok)
	}
	if c.st.done {
		c.off = true
		return false, nil
	}
	closed = !c.st.outside() && c.st.p.Closed()
	if closed && c.release {
		if c.st.calls == nil || c.st.calls.post == nil {
			c.off = true
		}
		return false, nil // with post: its text may follow
	}
	return closed, nil
}

// constrain makes req's generation follow j.format: its logits are masked
// after the log-probabilities are recorded (they stay the model's), and
// speculative decoding is off (drafts are not constrained).
func (s *Server) constrain(j *job, req *GenerateRequest) *jsonConstraint {
	jc := newJSONConstraint(j.format, j.tok, s.tries.get(j.tok), j.maxTokens)
	prev := req.Logits
	n := len(j.prompt)
	req.Logits = func(pos int, logits []float32) {
		if prev != nil {
			prev(pos, logits)
		}
		if pos >= n {
			jc.mask(logits)
		}
	}
	off := speculate.Off
	req.Speculate = &off
	return jc
}
