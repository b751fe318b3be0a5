// Package jsonprefix recognizes prefixes of JSON text a byte at a time: a
// pushdown automaton that says whether the bytes so far can still be
// extended to one valid JSON value (RFC 8259), whether they already are
// one, and the shortest text that completes them. A Parser is a small
// value: copying it clones it (what it points to is never changed), so a
// caller can try a byte sequence on a copy and keep the original.
//
// With a schema (Compile, NewSchema) the value must also be one the
// schema allows, and a prefix is taken exactly when some completion of it
// is (see Compile for the keywords and the few places where it is
// stricter). Unions (anyOf, oneOf) are read by following every
// alternative still possible as the text grows.
//
// The API uses it to constrain sampling to JSON output (response_format
// json_object and json_schema, ollama's format, tool calls' arguments): a
// token is allowed when its bytes keep the output a valid prefix.
package jsonprefix

// MaxDepth is how deeply arrays and objects may nest; a deeper opening is
// rejected.
const MaxDepth = 256

// state is where the automaton is.
type state uint8

const (
	sValue     state = iota // a value must come (after ':' or ',' in an array)
	sArrFirst               // after '[': a value or ']'
	sObjFirst               // after '{': a key or '}'
	sObjKey                 // after ',' in an object: a key
	sColon                  // after a key: ':'
	sAfter                  // after a value in a container: ',' or the closer
	sDone                   // the top-level value has ended: whitespace only
	sString                 // in a string
	sEscape                 // after '\' in a string
	sUnicode                // in the hex digits of \uXXXX (n counts them)
	sMinus                  // after '-': a digit
	sZero                   // integer part "0"
	sInt                    // integer part [1-9][0-9]*
	sDot                    // after '.': a digit
	sFrac                   // fraction digits
	sExp                    // after 'e': sign or digit
	sExpSign                // after the exponent's sign: a digit
	sExpDigits              // exponent digits
	sLiteral                // in true, false or null (lit, n)
	sKey                    // in a key of an object with a schema (kn, kmask)
	sEnum                   // in a value of an enum (en, emask)
)

var literals = [3]string{"true", "false", "null"}

// machine is the automaton's state with one reading of the schema (a
// Parser holds one or more, see Parser). The zero value accepts any JSON
// value.
type machine struct {
	st    state
	key   bool  // the string being read is an object key
	n     uint8 // progress in a literal or \u escape
	lit   uint8 // which literal
	obj   bool  // the top level must be an object
	bad   bool  // a byte was rejected: nothing is accepted any more
	depth uint16
	stack [MaxDepth / 64]uint64 // bit set: that level is an object

	// With a schema (NewSchema): cur is the schema of the value that
	// comes or is being read (nil: any), fr the innermost container.
	schema  bool
	intOnly bool // the number being read is an integer
	cur     *Schema
	fr      *frame
	kn, en  uint16 // bytes of the key or enum value so far
	kmask   uint64 // properties the key may still be
	emask   uint64 // enum values the value may still be
	// In a string value with a length bound (counted): the characters so
	// far, and the UTF-8 continuation bytes still due (u8) with the range
	// of the next (u8lo, u8hi).
	slen       uint32
	u8         uint8
	u8lo, u8hi byte
}

// started reports whether the top-level value has begun (whitespace
// before it does not count).
func (p *machine) started() bool { return p.bad || p.st != sValue || p.depth > 0 }

// inString reports whether the machine is inside a string (or its escape).
func (p *machine) inString() bool { return p.st == sString || p.st == sEscape || p.st == sUnicode }

func (p *machine) top() bool { // the innermost container is an object
	d := p.depth - 1
	return p.stack[d/64]&(1<<(d%64)) != 0
}

func (p *machine) push(object bool) bool {
	if p.depth >= MaxDepth {
		return false
	}
	d := p.depth
	if object {
		p.stack[d/64] |= 1 << (d % 64)
	} else {
		p.stack[d/64] &^= 1 << (d % 64)
	}
	p.depth++
	return true
}

// valueEnded moves past a value that has just ended.
func (p *machine) valueEnded() {
	if p.depth == 0 {
		p.st = sDone
	} else {
		p.st = sAfter
	}
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }
func isDigit(c byte) bool { return c >= '0' && c <= '9' }
func isHex(c byte) bool {
	return isDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

func (p *machine) startValue(c byte) bool {
	if p.obj && p.depth == 0 && c != '{' {
		return false
	}
	if p.schema {
		return p.startSchemaValue(c)
	}
	switch {
	case c == '{':
		if !p.push(true) {
			return false
		}
		p.st = sObjFirst
	case c == '[':
		if !p.push(false) {
			return false
		}
		p.st = sArrFirst
	case c == '"':
		p.st, p.key = sString, false
	case c == '-':
		p.st = sMinus
	case c == '0':
		p.st = sZero
	case c >= '1' && c <= '9':
		p.st = sInt
	case c == 't' || c == 'f' || c == 'n':
		p.st, p.n = sLiteral, 1
		switch c {
		case 't':
			p.lit = 0
		case 'f':
			p.lit = 1
		default:
			p.lit = 2
		}
	default:
		return false
	}
	return true
}

// closeContainer handles ']' or '}' where a closer may come.
func (p *machine) closeContainer(c byte) bool {
	if p.depth == 0 || (c == '}') != p.top() {
		return false
	}
	if p.schema {
		if c == '}' && p.fr.s != nil && p.fr.used&p.fr.s.required != p.fr.s.required {
			return false
		}
		if c == ']' && p.fr.s != nil && p.fr.n < p.fr.s.minItems {
			return false
		}
		p.fr = p.fr.parent
	}
	p.depth--
	p.valueEnded()
	return true
}

func (p *machine) feed(c byte) bool {
	switch p.st {
	case sValue:
		if isSpace(c) {
			return true
		}
		return p.startValue(c)
	case sArrFirst:
		if isSpace(c) {
			return true
		}
		if c == ']' {
			return p.closeContainer(c)
		}
		if p.schema && !p.arrayItem() {
			return false
		}
		return p.startValue(c)
	case sObjFirst, sObjKey:
		switch {
		case isSpace(c):
			return true
		case c == '"':
			if p.schema && p.fr.s != nil {
				return p.startKey()
			}
			p.st, p.key = sString, true
			return true
		case c == '}' && p.st == sObjFirst:
			return p.closeContainer(c)
		}
		return false
	case sColon:
		switch {
		case isSpace(c):
			return true
		case c == ':':
			p.st = sValue
			return true
		}
		return false
	case sAfter:
		switch {
		case isSpace(c):
			return true
		case c == ',':
			if p.top() {
				if p.schema && p.fr.s != nil && p.unused() == 0 {
					return false
				}
				p.st = sObjKey
			} else {
				p.st = sValue
				if p.schema {
					if !p.arrayItem() {
						return false
					}
					p.cur = p.fr.s.itemSchema()
					if p.cur != nil && int(p.depth)+p.cur.nest > MaxDepth {
						return false
					}
				}
			}
			return true
		case c == ']' || c == '}':
			return p.closeContainer(c)
		}
		return false
	case sDone:
		return isSpace(c)
	case sString:
		if p.counted() {
			return p.countedByte(c)
		}
		switch {
		case c == '"':
			if p.key {
				p.st, p.cur = sColon, nil
			} else {
				p.valueEnded()
			}
			return true
		case c == '\\':
			p.st = sEscape
			return true
		}
		return c >= 0x20
	case sEscape:
		switch c {
		case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			p.st = sString
			return true
		case 'u':
			p.st, p.n = sUnicode, 0
			return true
		}
		return false
	case sUnicode:
		if !isHex(c) {
			return false
		}
		if p.counted() {
			// No surrogate escapes (\uD800-\uDFFF) where characters
			// are counted: a pair would count once.
			if p.n == 0 {
				p.lit = c | 0x20
			} else if p.n == 1 && p.lit == 'd' && c >= '8' { // 8-9, A-F, a-f
				return false
			}
		}
		p.n++
		if p.n == 4 {
			p.st = sString
		}
		return true
	case sMinus:
		switch {
		case c == '0':
			p.st = sZero
		case c >= '1' && c <= '9':
			p.st = sInt
		default:
			return false
		}
		return true
	case sZero, sInt:
		switch {
		case isDigit(c) && p.st == sInt:
			return true
		case (c == '.' || c == 'e' || c == 'E') && p.intOnly:
			return false
		case c == '.':
			p.st = sDot
			return true
		case c == 'e' || c == 'E':
			p.st = sExp
			return true
		}
		return p.endNumber(c)
	case sDot:
		if !isDigit(c) {
			return false
		}
		p.st = sFrac
		return true
	case sFrac:
		switch {
		case isDigit(c):
			return true
		case c == 'e' || c == 'E':
			p.st = sExp
			return true
		}
		return p.endNumber(c)
	case sExp:
		switch {
		case c == '+' || c == '-':
			p.st = sExpSign
			return true
		case isDigit(c):
			p.st = sExpDigits
			return true
		}
		return false
	case sExpSign:
		if !isDigit(c) {
			return false
		}
		p.st = sExpDigits
		return true
	case sExpDigits:
		if isDigit(c) {
			return true
		}
		return p.endNumber(c)
	case sLiteral:
		l := literals[p.lit]
		if c != l[p.n] {
			return false
		}
		p.n++
		if int(p.n) == len(l) {
			p.valueEnded()
		}
		return true
	case sKey:
		return p.keyByte(c)
	case sEnum:
		return p.enumByte(c)
	}
	return false
}

// endNumber ends a complete number at c, which must then be read after it.
func (p *machine) endNumber(c byte) bool {
	p.valueEnded()
	return p.feed(c)
}

// numberEnds reports whether the parser is in a number that may end here.
func (p *machine) numberEnds() bool {
	switch p.st {
	case sZero, sInt, sFrac, sExpDigits:
		return true
	case sEnum:
		return p.enumExact() >= 0
	}
	return false
}

// complete reports whether the text so far is one whole JSON value
// (followed by whitespace at most).
func (p *machine) complete() bool {
	return !p.bad && (p.st == sDone || (p.depth == 0 && p.numberEnds()))
}

// closed reports whether the value is complete and nothing but whitespace
// can follow (a top-level number could still grow).
func (p *machine) closed() bool { return !p.bad && (p.st == sDone || (p.schema && p.enumClosed())) }

// completionLen is len(p.completion()) without building it (-1 after a
// rejected byte).
func (p *machine) completionLen() int {
	if p.bad {
		return -1
	}
	if p.schema {
		return len(p.schemaCompletion())
	}
	n := int(p.depth)
	switch p.st {
	case sValue:
		if p.obj && p.depth == 0 {
			n += 2
		} else {
			n++
		}
	case sObjKey:
		n += 4
	case sColon:
		n += 2
	case sString, sEscape, sUnicode:
		n++
		switch p.st {
		case sEscape:
			n++
		case sUnicode:
			n += 4 - int(p.n)
		}
		if p.key {
			n += 2
		}
	case sMinus, sDot, sExp, sExpSign:
		n++
	case sLiteral:
		n += len(literals[p.lit]) - int(p.n)
	}
	return n
}

// escapeCompletion appends what ends an escape the text is in (none
// outside one) to b.
func (p *machine) escapeCompletion(b []byte) []byte {
	switch p.st {
	case sEscape:
		b = append(b, 'n')
	case sUnicode:
		for i := p.n; i < 4; i++ {
			b = append(b, '0')
		}
	}
	return b
}

// completion returns the shortest text that makes the text so far one
// whole JSON value ("" when it is one; nil after a rejected byte).
func (p *machine) completion() []byte {
	if p.bad {
		return nil
	}
	if p.schema {
		return p.schemaCompletion()
	}
	var b []byte
	switch p.st {
	case sValue:
		if p.obj && p.depth == 0 {
			b = append(b, "{}"...)
		} else {
			b = append(b, '0')
		}
	case sArrFirst:
		// the closer comes below
	case sObjFirst:
	case sObjKey:
		b = append(b, `"":0`...)
	case sColon:
		b = append(b, ":0"...)
	case sString, sEscape, sUnicode:
		b = p.escapeCompletion(b)
		b = append(b, '"')
		if p.key {
			b = append(b, ":0"...)
		}
	case sMinus, sDot, sExp, sExpSign:
		b = append(b, '0')
	case sLiteral:
		b = append(b, literals[p.lit][p.n:]...)
	}
	for d := int(p.depth) - 1; d >= 0; d-- {
		if p.stack[d/64]&(1<<(d%64)) != 0 {
			b = append(b, '}')
		} else {
			b = append(b, ']')
		}
	}
	if b == nil {
		b = []byte{}
	}
	return b
}

// plainString reports whether the machine is inside a string where every
// plain byte is accepted and leaves it as it is (a key of an object with a
// schema is not: its bytes must spell a property; nor is a string with a
// length bound, whose bytes are counted).
func (p *machine) plainString() bool { return !p.bad && p.st == sString && !p.counted() }
