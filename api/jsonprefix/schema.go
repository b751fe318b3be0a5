package jsonprefix

// frame is an open container under a schema: immutable, so Parser copies
// share it.
type frame struct {
	s      *Schema // nil: anything inside
	used   uint64  // an object's properties written
	n      int32   // an array's elements begun (counted where bounded)
	parent *frame
}

// sameFrames reports whether two stacks of frames are alike.
func sameFrames(a, b *frame) bool {
	for ; a != b; a, b = a.parent, b.parent {
		if a == nil || b == nil || a.s != b.s || a.used != b.used || a.n != b.n {
			return false
		}
	}
	return true
}

// arrayItem counts an element begun in the innermost array: false when
// its maxItems are written.
func (p *machine) arrayItem() bool {
	f := p.fr
	if f.s == nil || (f.s.minItems == 0 && f.s.maxItems < 0) {
		return true
	}
	if f.s.maxItems >= 0 && f.n >= f.s.maxItems {
		return false
	}
	p.fr = &frame{s: f.s, n: f.n + 1, parent: f.parent}
	return true
}

// counted reports whether the machine is in a string value whose
// characters are counted (its schema bounds its length).
func (p *machine) counted() bool {
	return p.schema && !p.key && p.cur != nil && (p.cur.minLen > 0 || p.cur.maxLen >= 0)
}

// countedByte reads c in a counted string (state sString): valid UTF-8,
// and no more characters than maxLen; the closing quote after minLen.
func (p *machine) countedByte(c byte) bool {
	s := p.cur
	if p.u8 > 0 {
		if c < p.u8lo || c > p.u8hi {
			return false
		}
		p.u8, p.u8lo, p.u8hi = p.u8-1, 0x80, 0xBF
		return true
	}
	switch {
	case c == '"':
		if int32(p.slen) < s.minLen {
			return false
		}
		p.valueEnded()
		return true
	case c < 0x20:
		return false
	case c >= 0x80:
		p.u8lo, p.u8hi = 0x80, 0xBF
		switch {
		case c >= 0xC2 && c <= 0xDF:
			p.u8 = 1
		case c == 0xE0:
			p.u8, p.u8lo = 2, 0xA0
		case c == 0xED:
			p.u8, p.u8hi = 2, 0x9F
		case c >= 0xE1 && c <= 0xEF:
			p.u8 = 2
		case c == 0xF0:
			p.u8, p.u8lo = 3, 0x90
		case c == 0xF4:
			p.u8, p.u8hi = 3, 0x8F
		case c >= 0xF1 && c <= 0xF3:
			p.u8 = 3
		default:
			return false
		}
	}
	if s.maxLen >= 0 && int32(p.slen) >= s.maxLen {
		return false
	}
	p.slen++
	if c == '\\' {
		p.st = sEscape
	}
	return true
}

// countedCompletion completes a counted string (in it or an escape).
func (p *machine) countedCompletion() []byte {
	b := p.escapeCompletion([]byte{})
	for i := range p.u8 {
		if i == 0 {
			b = append(b, p.u8lo)
		} else {
			b = append(b, 0x80)
		}
	}
	for i := int32(p.slen); i < p.cur.minLen; i++ {
		b = append(b, 'a')
	}
	return append(b, '"')
}

// itemSchema is the schema of an array's elements (nil: any).
func (s *Schema) itemSchema() *Schema {
	if s == nil {
		return nil
	}
	return s.items
}

// allProps is the bit set of all of s's properties.
func (s *Schema) allProps() uint64 {
	if len(s.props) == 64 {
		return ^uint64(0)
	}
	return 1<<len(s.props) - 1
}

// unused are the properties of the innermost object not written yet
// whose shortest values fit in the levels left (MaxDepth).
func (p *machine) unused() uint64 {
	s := p.fr.s
	u := s.allProps() &^ p.fr.used
	if int(p.depth)+s.propNest > MaxDepth {
		for i, pr := range s.props {
			if int(p.depth)+pr.s.nest > MaxDepth {
				u &^= 1 << i
			}
		}
	}
	return u
}

// startSchemaValue starts a value of p.cur at c.
func (p *machine) startSchemaValue(c byte) bool {
	s := p.cur
	if s == nil {
		switch c {
		case '{', '[':
			p.fr = &frame{parent: p.fr}
		}
		p.intOnly = false
		return p.startGeneric(c)
	}
	if s.leaves != nil {
		return false // Parser picks a leaf before the value starts
	}
	if s.enum != nil {
		p.emask, p.en = 0, 0
		for i := range s.enum {
			p.emask |= 1 << i
		}
		p.st = sEnum
		return p.enumByte(c)
	}
	var need uint8
	switch {
	case c == '{':
		need = tObject
	case c == '[':
		need = tArray
	case c == '"':
		need = tString
	case c == '-' || isDigit(c):
		need = tInteger
	case c == 't' || c == 'f':
		need = tBoolean
	case c == 'n':
		need = tNull
	}
	if s.types&need == 0 {
		return false
	}
	if (c == '{' || c == '[') && int(p.depth)+1+s.need > MaxDepth {
		return false // what it must hold would nest too deeply
	}
	p.intOnly = s.types&tNumber == 0
	switch c {
	case '{':
		f := &frame{s: s, parent: p.fr}
		if s.props == nil && !s.closed {
			f.s = nil // any properties
		}
		p.fr = f
	case '"':
		p.slen, p.u8 = 0, 0
	case '[':
		p.fr = &frame{s: s, parent: p.fr}
		if !p.startGeneric(c) {
			return false
		}
		p.cur = s.items
		return true
	}
	return p.startGeneric(c)
}

// startGeneric is startValue without the schema.
func (p *machine) startGeneric(c byte) bool {
	p.schema = false
	ok := p.startValue(c)
	p.schema = true
	return ok
}

// startKey starts a key of the innermost object, which has a schema.
func (p *machine) startKey() bool {
	u := p.unused()
	if u == 0 {
		return false
	}
	p.st, p.kmask, p.kn = sKey, u, 0
	return true
}

func (p *machine) keyByte(c byte) bool {
	props := p.fr.s.props
	if c == '"' {
		for i, pr := range props {
			if p.kmask&(1<<i) != 0 && len(pr.name) == int(p.kn) {
				p.fr = &frame{s: p.fr.s, used: p.fr.used | 1<<i, parent: p.fr.parent}
				p.st, p.cur = sColon, pr.s
				return true
			}
		}
		return false
	}
	var m uint64
	for i, pr := range props {
		if p.kmask&(1<<i) != 0 && int(p.kn) < len(pr.name) && pr.name[p.kn] == c {
			m |= 1 << i
		}
	}
	if m == 0 {
		return false
	}
	p.kmask, p.kn = m, p.kn+1
	return true
}

// enumExact is the enum value read whole so far (-1: none).
func (p *machine) enumExact() int {
	for i, e := range p.cur.enum {
		if p.emask&(1<<i) != 0 && len(e) == int(p.en) {
			return i
		}
	}
	return -1
}

func (p *machine) enumByte(c byte) bool {
	var m uint64
	for i, e := range p.cur.enum {
		if p.emask&(1<<i) != 0 && int(p.en) < len(e) && e[p.en] == c {
			m |= 1 << i
		}
	}
	if m != 0 {
		p.emask, p.en = m, p.en+1
		return true
	}
	if p.en == 0 || p.enumExact() < 0 {
		return false
	}
	// The value ended before c (a number's end shows only then).
	p.valueEnded()
	return p.feed(c)
}

// Closed with a schema: an enum value whose last byte closes it (a
// string or literal) has ended too.
func (p *machine) enumClosed() bool {
	if p.st != sEnum || p.depth != 0 {
		return false
	}
	i := p.enumExact()
	if i < 0 {
		return false
	}
	e := p.cur.enum[i]
	last := e[len(e)-1]
	return last == '"' || last == 'e' || last == 'l'
}

// schemaCompletion is Completion with a schema: the value being read
// ended, then in each open object its required properties not written
// yet, and the closers.
func (p *machine) schemaCompletion() []byte {
	b := []byte{}
	wrote := true // the innermost object has a property (a comma is needed)
	switch p.st {
	case sValue:
		b = append(b, p.cur.minOrAny()...)
	case sArrFirst, sObjFirst:
		wrote = false
	case sObjKey:
		if p.fr.s == nil {
			b = append(b, `"":0`...)
		} else {
			i := p.pickProp(p.unused())
			b = p.fr.s.appendProp(b, i)
			p = p.withUsed(i)
		}
	case sKey:
		// The key the shortest completion writes (a required property
		// costs nothing more to write here).
		var best []byte
		for k, pr := range p.fr.s.props {
			if p.kmask&(1<<k) == 0 {
				continue
			}
			c := append([]byte{}, pr.name[p.kn:]...)
			c = append(c, '"', ':')
			c = append(c, pr.s.min...)
			c = p.withUsed(k).closers(c, true)
			if best == nil || len(c) < len(best) {
				best = c
			}
		}
		return best
	case sColon:
		b = append(b, ':')
		b = append(b, p.cur.minOrAny()...)
	case sEnum:
		best := -1
		for i, e := range p.cur.enum {
			if p.emask&(1<<i) != 0 && (best < 0 || len(e) < len(p.cur.enum[best])) {
				best = i
			}
		}
		b = append(b, p.cur.enum[best][p.en:]...)
	case sString, sEscape, sUnicode:
		if p.counted() {
			b = append(b, p.countedCompletion()...)
			break
		}
		fallthrough
	default:
		q := *p
		q.schema = false
		q.fr, q.depth = nil, 0 // the scalar's own completion
		b = append(b, q.completion()...)
	}
	return p.closers(b, wrote)
}

// closers appends to b the rest of every open container: an object's
// required properties not written yet (after a comma when wrote, for the
// innermost) and the closers.
func (p *machine) closers(b []byte, wrote bool) []byte {
	for f, d := p.fr, int(p.depth)-1; d >= 0; d, f = d-1, f.parent {
		if p.stack[d/64]&(1<<(d%64)) != 0 {
			if f.s != nil {
				for i := range f.s.props {
					if f.s.required&^f.used&(1<<i) != 0 {
						if wrote {
							b = append(b, ',')
						}
						b = f.s.appendProp(b, i)
						wrote = true
					}
				}
			}
			b = append(b, '}')
		} else {
			if f.s != nil {
				for i := f.n; i < f.s.minItems; i++ {
					if wrote {
						b = append(b, ',')
					}
					b = append(b, f.s.items.minOrAny()...)
					wrote = true
				}
			}
			b = append(b, ']')
		}
		wrote = true
	}
	return b
}

// minOrAny is the shortest value of s ("0" for any).
func (s *Schema) minOrAny() []byte {
	if s == nil {
		return []byte("0")
	}
	return s.min
}

// pickProp picks the property to complete an object with after a comma:
// a required one if any is left, else any.
func (p *machine) pickProp(u uint64) int {
	for i := range p.fr.s.props {
		if u&p.fr.s.required&(1<<i) != 0 {
			return i
		}
	}
	for i := range p.fr.s.props {
		if u&(1<<i) != 0 {
			return i
		}
	}
	return 0
}

func (s *Schema) appendProp(b []byte, i int) []byte {
	b = append(b, '"')
	b = append(b, s.props[i].name...)
	b = append(b, '"', ':')
	return append(b, s.props[i].s.min...)
}

// withUsed is a copy of p whose innermost object has property i written.
func (p *machine) withUsed(i int) *machine {
	q := *p
	q.fr = &frame{s: p.fr.s, used: p.fr.used | 1<<i, parent: p.fr.parent}
	return &q
}
