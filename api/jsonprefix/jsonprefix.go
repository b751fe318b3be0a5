// Package jsonprefix recognizes prefixes of JSON text a byte at a time: a
// pushdown automaton that says whether the bytes so far can still be
// extended to one valid JSON value (RFC 8259), whether they already are
// one, and the shortest text that completes them. A Parser is a small
// value (no pointers): copying it clones it, so a caller can try a byte
// sequence on a copy and keep the original.
//
// The API uses it to constrain sampling to JSON output (response_format
// json_object, ollama's format "json"): a token is allowed when its bytes
// keep the output a valid prefix.
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

// Parser is the automaton's state. The zero value accepts any JSON value;
// use New for the options.
type Parser struct {
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
}

// New returns a parser at the start of the text; with object, the
// top-level value must be an object (response_format json_object).
func New(object bool) Parser { return Parser{obj: object} }

// Err reports whether a byte was rejected.
func (p *Parser) Err() bool { return p.bad }

// Depth is how many arrays and objects are open.
func (p *Parser) Depth() int { return int(p.depth) }

// Started reports whether the top-level value has begun (whitespace
// before it does not count).
func (p *Parser) Started() bool { return p.bad || p.st != sValue || p.depth > 0 }

// InString reports whether the parser is inside a string (or its escape).
func (p *Parser) InString() bool { return p.st == sString || p.st == sEscape || p.st == sUnicode }

func (p *Parser) top() bool { // the innermost container is an object
	d := p.depth - 1
	return p.stack[d/64]&(1<<(d%64)) != 0
}

func (p *Parser) push(object bool) bool {
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
func (p *Parser) valueEnded() {
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

// Feed advances over c and reports whether the text is still a valid
// prefix. After a rejected byte the parser stays rejecting.
func (p *Parser) Feed(c byte) bool {
	if p.bad {
		return false
	}
	if !p.feed(c) {
		p.bad = true
		return false
	}
	return true
}

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

func (p *Parser) startValue(c byte) bool {
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
func (p *Parser) closeContainer(c byte) bool {
	if p.depth == 0 || (c == '}') != p.top() {
		return false
	}
	if p.schema {
		if c == '}' && p.fr.s != nil && p.fr.used&p.fr.s.required != p.fr.s.required {
			return false
		}
		p.fr = p.fr.parent
	}
	p.depth--
	p.valueEnded()
	return true
}

func (p *Parser) feed(c byte) bool {
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
					p.cur = p.fr.s.itemSchema()
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
func (p *Parser) endNumber(c byte) bool {
	p.valueEnded()
	return p.feed(c)
}

// numberEnds reports whether the parser is in a number that may end here.
func (p *Parser) numberEnds() bool {
	switch p.st {
	case sZero, sInt, sFrac, sExpDigits:
		return true
	case sEnum:
		return p.enumExact() >= 0
	}
	return false
}

// Complete reports whether the text so far is one whole JSON value
// (followed by whitespace at most).
func (p *Parser) Complete() bool {
	return !p.bad && (p.st == sDone || (p.depth == 0 && p.numberEnds()))
}

// Closed reports whether the value is complete and nothing but whitespace
// can follow (a top-level number could still grow).
func (p *Parser) Closed() bool { return !p.bad && (p.st == sDone || (p.schema && p.enumClosed())) }

// CompletionLen is len(p.Completion()) without building it (-1 after a
// rejected byte).
func (p *Parser) CompletionLen() int {
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

// Completion returns the shortest text that makes the text so far one
// whole JSON value ("" when it is one; nil after a rejected byte).
func (p *Parser) Completion() []byte {
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
		switch p.st {
		case sEscape:
			b = append(b, 'n')
		case sUnicode:
			for i := p.n; i < 4; i++ {
				b = append(b, '0')
			}
		}
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

// PlainString reports whether the parser is inside a string where every
// byte of at least 0x20 other than '"' and '\' is accepted and leaves
// the parser as it is (a key of an object with a schema is not: its
// bytes must spell a property).
func (p *Parser) PlainString() bool { return !p.bad && p.st == sString }
