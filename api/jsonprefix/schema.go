package jsonprefix

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
)

// ErrSchema is wrapped by errors about schemas Compile does not take.
var ErrSchema = errors.New("jsonprefix: unsupported schema")

// Types a schema allows, as a bit set.
const (
	tString uint8 = 1 << iota
	tNumber
	tInteger
	tBoolean
	tNull
	tObject
	tArray
	tAny = tString | tNumber | tInteger | tBoolean | tNull | tObject | tArray
)

// Schema is a compiled JSON schema of the subset Compile takes: type
// (one or a list of object, array, string, number, integer, boolean,
// null), properties with required (an object with properties has only
// those; without, any), items, enum of scalars, and the annotations
// title, description, $schema, default, examples, additionalProperties
// false and strict. A nil *Schema allows any value.
type Schema struct {
	types    uint8
	props    []prop
	required uint64 // bits of props
	items    *Schema
	enum     [][]byte // the values, compactly encoded
	min      []byte   // the shortest value
}

type prop struct {
	name []byte // the key as JSON writes it, without the quotes
	s    *Schema
}

// maxProps and maxEnum cap a schema's properties and enum values.
const maxProps, maxEnum = 64, 64

// Compile reads a JSON schema (as json.Unmarshal into any gives it).
func Compile(v any) (*Schema, error) { return compile(v, "schema", 0) }

func compile(v any, at string, depth int) (*Schema, error) {
	if depth > 32 {
		return nil, fmt.Errorf("%w: %s nests too deeply", ErrSchema, at)
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%w: %s must be an object", ErrSchema, at)
	}
	s := &Schema{types: tAny}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		switch k {
		case "title", "description", "$schema", "default", "examples", "strict", "properties", "required", "items", "enum", "type":
		case "additionalProperties":
			if b, ok := m[k].(bool); !ok || b {
				return nil, fmt.Errorf("%w: %s.additionalProperties: only false is supported", ErrSchema, at)
			}
		default:
			return nil, fmt.Errorf("%w: keyword %q at %s", ErrSchema, k, at)
		}
	}
	if t, ok := m["type"]; ok {
		var names []any
		switch t := t.(type) {
		case string:
			names = []any{t}
		case []any:
			names = t
		default:
			return nil, fmt.Errorf("%w: %s.type must be a string or a list", ErrSchema, at)
		}
		s.types = 0
		for _, n := range names {
			bit := map[any]uint8{"string": tString, "number": tNumber | tInteger, "integer": tInteger, "boolean": tBoolean,
				"null": tNull, "object": tObject, "array": tArray}[n]
			if bit == 0 {
				return nil, fmt.Errorf("%w: %s.type %v", ErrSchema, at, n)
			}
			s.types |= bit
		}
	}
	if ps, ok := m["properties"]; ok {
		pm, ok := ps.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%w: %s.properties must be an object", ErrSchema, at)
		}
		if len(pm) > maxProps {
			return nil, fmt.Errorf("%w: %s has more than %d properties", ErrSchema, at, maxProps)
		}
		names := make([]string, 0, len(pm))
		for n := range pm {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			ps, err := compile(pm[n], at+".properties."+n, depth+1)
			if err != nil {
				return nil, err
			}
			enc, _ := json.Marshal(n)
			s.props = append(s.props, prop{name: enc[1 : len(enc)-1], s: ps})
		}
		s.types &= tObject
		if s.types == 0 {
			return nil, fmt.Errorf("%w: %s has properties but is not an object", ErrSchema, at)
		}
	}
	if rq, ok := m["required"]; ok {
		list, ok := rq.([]any)
		if !ok {
			return nil, fmt.Errorf("%w: %s.required must be a list", ErrSchema, at)
		}
		for _, r := range list {
			i := slices.IndexFunc(s.props, func(p prop) bool {
				n, _ := r.(string)
				e, _ := json.Marshal(n)
				return string(e[1:len(e)-1]) == string(p.name)
			})
			if i < 0 {
				return nil, fmt.Errorf("%w: %s.required names %v, not a property", ErrSchema, at, r)
			}
			s.required |= 1 << i
		}
	}
	if it, ok := m["items"]; ok {
		is, err := compile(it, at+".items", depth+1)
		if err != nil {
			return nil, err
		}
		s.items = is
		s.types &= tArray
		if s.types == 0 {
			return nil, fmt.Errorf("%w: %s has items but is not an array", ErrSchema, at)
		}
	}
	if ev, ok := m["enum"]; ok {
		list, ok := ev.([]any)
		if !ok || len(list) == 0 || len(list) > maxEnum {
			return nil, fmt.Errorf("%w: %s.enum must be a list of 1 to %d values", ErrSchema, at, maxEnum)
		}
		for _, e := range list {
			switch e.(type) {
			case map[string]any, []any:
				return nil, fmt.Errorf("%w: %s.enum: only strings, numbers, booleans and null", ErrSchema, at)
			}
			enc, _ := json.Marshal(e)
			s.enum = append(s.enum, enc)
		}
	}
	s.min = s.minValue()
	if s.min == nil {
		return nil, fmt.Errorf("%w: %s allows no value", ErrSchema, at)
	}
	return s, nil
}

// minValue is the shortest value the schema allows (nil: none).
func (s *Schema) minValue() []byte {
	if s.enum != nil {
		var best []byte
		for _, e := range s.enum {
			if best == nil || len(e) < len(best) {
				best = e
			}
		}
		return best
	}
	var best []byte
	try := func(b []byte) {
		if best == nil || len(b) < len(best) {
			best = b
		}
	}
	if s.types&(tNumber|tInteger) != 0 {
		try([]byte("0"))
	}
	if s.types&tString != 0 {
		try([]byte(`""`))
	}
	if s.types&tArray != 0 {
		try([]byte("[]"))
	}
	if s.types&tNull != 0 {
		try([]byte("null"))
	}
	if s.types&tBoolean != 0 {
		try([]byte("true"))
	}
	if s.types&tObject != 0 {
		b := []byte{'{'}
		for i, p := range s.props {
			if s.required&(1<<i) != 0 {
				if len(b) > 1 {
					b = append(b, ',')
				}
				b = append(b, '"')
				b = append(b, p.name...)
				b = append(b, '"', ':')
				b = append(b, p.s.min...)
			}
		}
		try(append(b, '}'))
	}
	return best
}

// frame is an open container under a schema: immutable, so Parser copies
// share it.
type frame struct {
	s      *Schema // nil: anything inside
	used   uint64  // properties written
	parent *frame
}

// NewSchema returns a parser whose text must be one value s allows.
func NewSchema(s *Schema) Parser { return Parser{schema: true, cur: s} }

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

// unused are the properties of the innermost object not written yet.
func (p *Parser) unused() uint64 { return p.fr.s.allProps() &^ p.fr.used }

// startSchemaValue starts a value of p.cur at c.
func (p *Parser) startSchemaValue(c byte) bool {
	s := p.cur
	if s == nil {
		switch c {
		case '{', '[':
			p.fr = &frame{parent: p.fr}
		}
		p.intOnly = false
		return p.startGeneric(c)
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
	p.intOnly = s.types&tNumber == 0
	switch c {
	case '{':
		f := &frame{s: s, parent: p.fr}
		if s.props == nil {
			f.s = nil // any properties
		}
		p.fr = f
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
func (p *Parser) startGeneric(c byte) bool {
	p.schema = false
	ok := p.startValue(c)
	p.schema = true
	return ok
}

// startKey starts a key of the innermost object, which has a schema.
func (p *Parser) startKey() bool {
	u := p.unused()
	if u == 0 {
		return false
	}
	p.st, p.kmask, p.kn = sKey, u, 0
	return true
}

func (p *Parser) keyByte(c byte) bool {
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
func (p *Parser) enumExact() int {
	for i, e := range p.cur.enum {
		if p.emask&(1<<i) != 0 && len(e) == int(p.en) {
			return i
		}
	}
	return -1
}

func (p *Parser) enumByte(c byte) bool {
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
func (p *Parser) enumClosed() bool {
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
func (p *Parser) schemaCompletion() []byte {
	b := []byte{}
	wrote := true // the innermost object has a property (a comma is needed)
	switch p.st {
	case sValue:
		b = append(b, p.cur.minOrAny()...)
	case sArrFirst:
	case sObjFirst:
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
	default:
		q := *p
		q.schema = false
		q.fr, q.depth = nil, 0 // the scalar's own completion
		b = append(b, q.Completion()...)
	}
	return p.closers(b, wrote)
}

// closers appends to b the rest of every open container: an object's
// required properties not written yet (after a comma when wrote, for the
// innermost) and the closers.
func (p *Parser) closers(b []byte, wrote bool) []byte {
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
func (p *Parser) pickProp(u uint64) int {
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
func (p *Parser) withUsed(i int) *Parser {
	q := *p
	q.fr = &frame{s: p.fr.s, used: p.fr.used | 1<<i, parent: p.fr.parent}
	return &q
}
