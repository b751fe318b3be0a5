package jsonprefix

// Parser is the recognizer's state: one machine, or with a schema whose
// unions (anyOf, oneOf) leave several readings of the text open, one per
// reading (a thread): a byte is accepted when some thread takes it, and
// the threads that do not are dropped. The zero value accepts any JSON
// value; use New or NewSchema for the options. A Parser is a small value:
// copying it clones it (its threads beyond the first are shared and never
// changed).
type Parser struct {
	m    machine
	more []machine // the other threads, if any
}

// maxThreads caps the readings a Parser follows at once; past it, the
// first ones are kept (the text stays a prefix of a valid value, but some
// valid texts may be refused). Schemas of unions told apart by their
// first bytes (an optional field's anyOf with null) never come near it.
const maxThreads = 64

// New returns a parser at the start of the text; with object, the
// top-level value must be an object (response_format json_object).
func New(object bool) Parser { return Parser{m: machine{obj: object}} }

// NewSchema returns a parser whose text must be one value s allows.
func NewSchema(s *Schema) Parser { return Parser{m: machine{schema: true, cur: s}} }

// Err reports whether a byte was rejected.
func (p *Parser) Err() bool { return p.m.bad }

// Depth is how many arrays and objects are open.
func (p *Parser) Depth() int { return int(p.m.depth) }

// Started reports whether the top-level value has begun (whitespace
// before it does not count).
func (p *Parser) Started() bool { return p.m.started() }

// InString reports whether the parser is inside a string (or its escape).
func (p *Parser) InString() bool {
	if p.m.inString() {
		return true
	}
	for i := range p.more {
		if p.more[i].inString() {
			return true
		}
	}
	return false
}

// leavesAt is the union whose value c starts in t (nil: none).
func (t *machine) leavesAt(c byte) []*Schema {
	if !t.schema || t.cur == nil || t.cur.leaves == nil || isSpace(c) {
		return nil
	}
	if t.st == sValue || (t.st == sArrFirst && c != ']') {
		return t.cur.leaves
	}
	return nil
}

// Feed advances over c and reports whether the text is still a valid
// prefix. After a rejected byte the parser stays rejecting.
func (p *Parser) Feed(c byte) bool {
	if p.m.bad {
		return false
	}
	if p.more == nil {
		l := p.m.leavesAt(c)
		if len(l) == 1 {
			p.m.cur = l[0]
		}
		if len(l) <= 1 {
			if !p.m.feed(c) {
				p.m.bad = true
				return false
			}
			return true
		}
	} else if plainByte(c) && p.PlainString() {
		return true
	}
	var out []machine
	add := func(q machine) {
		for i := range out {
			if out[i].same(&q) {
				return
			}
		}
		if len(out) < maxThreads {
			out = append(out, q)
		}
	}
	step := func(t machine) {
		if l := t.leavesAt(c); l != nil {
			for _, s := range l {
				q := t
				q.cur = s
				if q.feed(c) {
					add(q)
				}
			}
			return
		}
		if t.feed(c) {
			add(t)
		}
	}
	step(p.m)
	for _, t := range p.more {
		step(t)
	}
	if len(out) == 0 {
		p.m.bad, p.more = true, nil
		return false
	}
	p.m, p.more = out[0], nil
	if len(out) > 1 {
		p.more = out[1:]
	}
	return true
}

// same reports whether two threads are in the same state.
func (t *machine) same(u *machine) bool {
	a, b := *t, *u
	a.fr, b.fr = nil, nil
	return a == b && sameFrames(t.fr, u.fr)
}

// plainByte reports whether c is string text that is no quote, escape or
// control byte.
func plainByte(c byte) bool { return c >= 0x20 && c != '"' && c != '\\' }

// Write feeds every byte of b; it reports whether all were accepted.
func (p *Parser) Write(b []byte) bool {
	for _, c := range b {
		if !p.Feed(c) {
			return false
		}
	}
	return true
}

// WriteString is Write for a string.
func (p *Parser) WriteString(s string) bool {
	for i := 0; i < len(s); i++ {
		if !p.Feed(s[i]) {
			return false
		}
	}
	return true
}

// any reports whether f holds for some thread.
func (p *Parser) any(f func(t *machine) bool) bool {
	if f(&p.m) {
		return true
	}
	for i := range p.more {
		if f(&p.more[i]) {
			return true
		}
	}
	return false
}

// Complete reports whether the text so far is one whole JSON value
// (followed by whitespace at most).
func (p *Parser) Complete() bool { return p.any((*machine).complete) }

// Closed reports whether the value is complete and nothing but whitespace
// can follow (a top-level number could still grow).
func (p *Parser) Closed() bool { return p.any((*machine).closed) }

// CompletionLen is len(p.Completion()) without building it (-1 after a
// rejected byte).
func (p *Parser) CompletionLen() int {
	n := p.m.completionLen()
	for i := range p.more {
		n = min(n, p.more[i].completionLen())
	}
	return n
}

// Completion returns the shortest text that makes the text so far one
// whole JSON value ("" when it is one; nil after a rejected byte).
func (p *Parser) Completion() []byte {
	b := p.m.completion()
	for i := range p.more {
		if c := p.more[i].completion(); len(c) < len(b) {
			b = c
		}
	}
	return b
}

// PlainString reports whether the parser is inside a string where every
// byte of at least 0x20 other than '"' and '\' is accepted and leaves
// the parser as it is (a key of an object with a schema is not: its
// bytes must spell a property; nor is a string with a length bound).
func (p *Parser) PlainString() bool {
	if !p.m.plainString() {
		return false
	}
	for i := range p.more {
		if !p.more[i].plainString() {
			return false
		}
	}
	return true
}

// CountedString reports whether the parser is inside a string with a
// length bound (minLength, maxLength), at a character boundary, in one
// reading of the text: then n characters are written, and the string
// takes lo to hi (hi < 0: any number) in all. Plain text that is whole
// valid UTF-8 of k characters is accepted there when n+k <= hi, and
// leaves the parser as it is but for n (the completion's length changes
// by max(0, lo-n-k) - max(0, lo-n)).
func (p *Parser) CountedString() (n, lo, hi int, ok bool) {
	t := &p.m
	if p.more != nil || t.bad || t.st != sString || !t.counted() || t.u8 != 0 {
		return 0, 0, 0, false
	}
	return int(t.slen), int(t.cur.minLen), int(t.cur.maxLen), true
}

// CountedTail is the length of the completion of the string the parser
// is in, when its characters are counted (one reading): the rest of an
// escape, the UTF-8 continuation bytes due, the characters it lacks, the
// quote. The rest of the completion (after the string) stays the same
// while the string goes on.
func (p *Parser) CountedTail() (int, bool) {
	t := &p.m
	if p.more != nil || t.bad || !t.inString() || !t.counted() {
		return 0, false
	}
	n := int(t.u8) + max(0, int(t.cur.minLen)-int(t.slen)) + 1
	switch t.st {
	case sEscape:
		n++
	case sUnicode:
		n += 4 - int(t.n)
	}
	return n, true
}
