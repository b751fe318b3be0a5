package jsonprefix

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"unicode/utf8"
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

// Schema is a compiled JSON schema of the subset Compile takes (see
// Compile). A nil *Schema allows any value. Schemas may be cyclic (a
// recursive $ref).
type Schema struct {
	types    uint8
	closed   bool // additionalProperties false: without properties, no key
	props    []prop
	required uint64 // bits of props
	items    *Schema
	enum     [][]byte // non-nil: the values allowed, compactly encoded
	// minItems, maxItems bound an array's length, minLen, maxLen a
	// string's in characters (max < 0: none).
	minItems, maxItems int32
	minLen, maxLen     int32
	// A union (anyOf, oneOf, $ref, allOf of one): alts as written, and
	// leaves, the schemas other than unions it stands for (non-nil
	// exactly for a union). A value of a union is one of a leaf.
	alts, leaves []*Schema
	min          []byte // the shortest value
	// nest: how deeply min nests; need: how deeply what a completion
	// must write inside an object or array of the schema nests (its
	// required properties' or minItems elements' shortest values);
	// propNest: the deepest of its properties' nest.
	nest, need, propNest int
}

type prop struct {
	name []byte // the key as JSON writes it, without the quotes
	s    *Schema
}

// Caps on a schema: properties of an object and values of an enum (bit
// sets), the schemas a union stands for, and nodes in all.
const maxProps, maxEnum, maxLeaves, maxNodes = 64, 64, 64, 4096

// maxMin caps the length of a schema's shortest value.
const maxMin = 1 << 16

// Compile reads a JSON schema (as json.Unmarshal into any gives it). It
// takes:
//
//   - type: one name or a list (object, array, string, number, integer,
//     boolean, null);
//   - properties and required; additionalProperties true or false. An
//     object whose schema lists properties has only those (whatever
//     additionalProperties says: OpenAI's strict mode asks for false); one
//     without properties has any, unless additionalProperties is false
//     (then none);
//   - items (one schema), minItems, maxItems;
//   - minLength, maxLength: in characters (Unicode code points); such a
//     string is valid UTF-8 and writes no surrogate \u escape;
//   - enum and const of strings, numbers, booleans and null;
//   - anyOf and oneOf (taken as anyOf: a value valid under several
//     alternatives is allowed), allOf of one schema, $ref to #, #/$defs/NAME
//     or #/definitions/NAME (recursive ones too: nesting is bounded by
//     MaxDepth, and an object or array whose required contents would
//     nest deeper is refused), with no assertion beside them but type,
//     which narrows the alternatives;
//   - true (any value), and the annotations title, description, default,
//     examples, $schema, $id, $comment, deprecated, readOnly, writeOnly,
//     strict, and $defs / definitions.
//
// Other keywords (pattern, format, minimum, ...) are an error wrapping
// ErrSchema that names the keyword and where it is; so is a schema
// that allows no value.
func Compile(v any) (*Schema, error) {
	root, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%w: schema must be an object", ErrSchema)
	}
	c := &compiler{root: root, refs: map[string]*Schema{}, at: map[*Schema]string{}, narrowed: map[narrowed]*Schema{}}
	s := &Schema{}
	c.refs["#"] = s
	if err := c.fill(s, root, "schema", 0); err != nil {
		return nil, err
	}
	if err := c.finish(); err != nil {
		return nil, err
	}
	return s, nil
}

// compiler compiles one schema document.
type compiler struct {
	root  map[string]any
	refs  map[string]*Schema // the targets of $ref, by reference
	all   []*Schema          // every node, in order
	at    map[*Schema]string // where each node is, for errors
	nodes int
	// narrowed: copies of leaves of fewer types (a union's type keyword)
	narrowed map[narrowed]*Schema
}

// annotations are keywords that do not constrain a value.
var annotations = map[string]bool{
	"title": true, "description": true, "default": true, "examples": true, "$schema": true, "$id": true,
	"$comment": true, "deprecated": true, "readOnly": true, "writeOnly": true, "strict": true,
	"$defs": true, "definitions": true,
}

// assertions are the keywords Compile takes beside unions.
var assertions = map[string]bool{
	"type": true, "properties": true, "required": true, "additionalProperties": true, "items": true,
	"minItems": true, "maxItems": true, "minLength": true, "maxLength": true, "enum": true, "const": true,
}

var unionKeys = []string{"$ref", "anyOf", "oneOf", "allOf"}

func (c *compiler) compile(v any, at string, depth int) (*Schema, error) {
	s := &Schema{}
	return s, c.fill(s, v, at, depth)
}

// fill compiles v into s.
func (c *compiler) fill(s *Schema, v any, at string, depth int) error {
	if depth > 32 {
		return fmt.Errorf("%w: %s nests too deeply", ErrSchema, at)
	}
	if c.nodes++; c.nodes > maxNodes {
		return fmt.Errorf("%w: more than %d schemas", ErrSchema, maxNodes)
	}
	s.maxItems, s.maxLen = -1, -1
	c.all = append(c.all, s)
	c.at[s] = at
	if b, ok := v.(bool); ok {
		if b {
			s.types = tAny
		}
		return nil // false: no value (an error once finished)
	}
	m, ok := v.(map[string]any)
	if !ok {
		return fmt.Errorf("%w: %s must be an object or a boolean", ErrSchema, at)
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	union := ""
	for _, k := range keys {
		switch {
		case annotations[k], assertions[k]:
		case slices.Contains(unionKeys, k):
			if union != "" {
				return fmt.Errorf("%w: %s has both %s and %s", ErrSchema, at, union, k)
			}
			union = k
		default:
			return fmt.Errorf("%w: keyword %q at %s", ErrSchema, k, at)
		}
	}
	if err := s.readType(m, at); err != nil {
		return err
	}
	if union != "" {
		for _, k := range keys {
			if assertions[k] && k != "type" {
				return fmt.Errorf("%w: %s: %s with %s beside it", ErrSchema, at, union, k)
			}
		}
		return c.union(s, m, union, at, depth)
	}
	return c.fillRest(s, m, at, depth)
}

// readType reads the keyword type into s.types (all types without it).
func (s *Schema) readType(m map[string]any, at string) error {
	s.types = tAny
	if t, ok := m["type"]; ok {
		var names []any
		switch t := t.(type) {
		case string:
			names = []any{t}
		case []any:
			names = t
		default:
			return fmt.Errorf("%w: %s.type must be a string or a list", ErrSchema, at)
		}
		s.types = 0
		for _, n := range names {
			name, _ := n.(string)
			bit := map[string]uint8{"string": tString, "number": tNumber | tInteger, "integer": tInteger, "boolean": tBoolean,
				"null": tNull, "object": tObject, "array": tArray}[name]
			if bit == 0 {
				return fmt.Errorf("%w: %s.type %v", ErrSchema, at, n)
			}
			s.types |= bit
		}
	}
	return nil
}

// fillRest compiles the keywords of a schema other than type and the
// unions.
func (c *compiler) fillRest(s *Schema, m map[string]any, at string, depth int) error {
	if ap, ok := m["additionalProperties"]; ok {
		b, ok := ap.(bool)
		if !ok {
			return fmt.Errorf("%w: %s.additionalProperties: only true or false", ErrSchema, at)
		}
		s.closed = !b
	}
	if ps, ok := m["properties"]; ok {
		pm, ok := ps.(map[string]any)
		if !ok {
			return fmt.Errorf("%w: %s.properties must be an object", ErrSchema, at)
		}
		if len(pm) > maxProps {
			return fmt.Errorf("%w: %s has more than %d properties", ErrSchema, at, maxProps)
		}
		names := make([]string, 0, len(pm))
		for n := range pm {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			ps, err := c.compile(pm[n], at+".properties."+n, depth+1)
			if err != nil {
				return err
			}
			enc, _ := json.Marshal(n)
			s.props = append(s.props, prop{name: enc[1 : len(enc)-1], s: ps})
		}
		if _, typed := m["type"]; !typed {
			s.types = tObject
		}
	}
	if rq, ok := m["required"]; ok {
		list, ok := rq.([]any)
		if !ok {
			return fmt.Errorf("%w: %s.required must be a list", ErrSchema, at)
		}
		for _, r := range list {
			i := slices.IndexFunc(s.props, func(p prop) bool {
				n, _ := r.(string)
				e, _ := json.Marshal(n)
				return string(e[1:len(e)-1]) == string(p.name)
			})
			if i < 0 {
				return fmt.Errorf("%w: %s.required names %v, not a property", ErrSchema, at, r)
			}
			s.required |= 1 << i
		}
	}
	if it, ok := m["items"]; ok {
		is, err := c.compile(it, at+".items", depth+1)
		if err != nil {
			return err
		}
		s.items = is
		if _, typed := m["type"]; !typed {
			s.types = tArray
		}
	}
	for _, b := range []struct {
		key string
		to  *int32
	}{{"minItems", &s.minItems}, {"maxItems", &s.maxItems}, {"minLength", &s.minLen}, {"maxLength", &s.maxLen}} {
		x, ok := m[b.key]
		if !ok {
			continue
		}
		f, ok := x.(float64)
		if !ok || f < 0 || f != math.Trunc(f) || f > maxMin {
			return fmt.Errorf("%w: %s.%s must be a whole number from 0 to %d", ErrSchema, at, b.key, maxMin)
		}
		*b.to = int32(f)
	}
	var values []any
	if ev, ok := m["enum"]; ok {
		list, ok := ev.([]any)
		if !ok || len(list) == 0 || len(list) > maxEnum {
			return fmt.Errorf("%w: %s.enum must be a list of 1 to %d values", ErrSchema, at, maxEnum)
		}
		values = list
	}
	if cv, ok := m["const"]; ok {
		if values != nil && !slices.ContainsFunc(values, func(v any) bool { return sameValue(v, cv) }) {
			values = []any{}
		} else {
			values = []any{cv}
		}
	}
	if values != nil {
		s.enum = [][]byte{}
		for _, e := range values {
			switch e.(type) {
			case map[string]any, []any:
				return fmt.Errorf("%w: %s: enum and const take only strings, numbers, booleans and null", ErrSchema, at)
			}
			if !s.scalarOK(e) {
				continue // another keyword rules it out
			}
			enc, _ := json.Marshal(e)
			if !slices.ContainsFunc(s.enum, func(b []byte) bool { return string(b) == string(enc) }) {
				s.enum = append(s.enum, enc)
			}
		}
	}
	return nil
}

// nesting is how deeply the containers of the JSON value b nest.
func nesting(b []byte) int {
	d, most, str, esc := 0, 0, false, false
	for _, c := range b {
		switch {
		case esc:
			esc = false
		case str && c == '\\':
			esc = true
		case c == '"':
			str = !str
		case str:
		case c == '[' || c == '{':
			d++
			most = max(most, d)
		case c == ']' || c == '}':
			d--
		}
	}
	return most
}

// sameValue reports whether two decoded scalars are the same JSON value.
func sameValue(a, b any) bool {
	ea, _ := json.Marshal(a)
	eb, _ := json.Marshal(b)
	return string(ea) == string(eb)
}

// scalarOK reports whether s's type and length bounds allow the scalar v.
func (s *Schema) scalarOK(v any) bool {
	switch v := v.(type) {
	case string:
		n := int32(utf8.RuneCountInString(v))
		return s.types&tString != 0 && n >= s.minLen && (s.maxLen < 0 || n <= s.maxLen)
	case float64:
		return s.types&tNumber != 0 || (s.types&tInteger != 0 && v == math.Trunc(v))
	case bool:
		return s.types&tBoolean != 0
	case nil:
		return s.types&tNull != 0
	}
	return false
}

// union fills s with the alternatives of keyword k.
func (c *compiler) union(s *Schema, m map[string]any, k, at string, depth int) error {
	if k == "$ref" {
		r, ok := m[k].(string)
		if !ok {
			return fmt.Errorf("%w: %s.$ref must be a string", ErrSchema, at)
		}
		t, err := c.ref(r, at)
		if err != nil {
			return err
		}
		s.alts = []*Schema{t}
		return nil
	}
	list, ok := m[k].([]any)
	if !ok || len(list) == 0 {
		return fmt.Errorf("%w: %s.%s must be a list of schemas", ErrSchema, at, k)
	}
	if k == "allOf" && len(list) != 1 {
		return fmt.Errorf("%w: %s.allOf: only one schema", ErrSchema, at)
	}
	for i, a := range list {
		t, err := c.compile(a, fmt.Sprintf("%s.%s[%d]", at, k, i), depth+1)
		if err != nil {
			return err
		}
		s.alts = append(s.alts, t)
	}
	return nil
}

// ref is the schema $ref r names: the document (#) or one of its $defs
// or definitions, compiled once.
func (c *compiler) ref(r, at string) (*Schema, error) {
	if s, ok := c.refs[r]; ok {
		return s, nil
	}
	var section, name string
	for _, sec := range []string{"$defs", "definitions"} {
		if n, ok := strings.CutPrefix(r, "#/"+sec+"/"); ok {
			section, name = sec, n
		}
	}
	if section == "" || strings.Contains(name, "/") {
		return nil, fmt.Errorf("%w: %s.$ref %q: only #, #/$defs/NAME and #/definitions/NAME", ErrSchema, at, r)
	}
	name = strings.NewReplacer("~1", "/", "~0", "~").Replace(name)
	defs, _ := c.root[section].(map[string]any)
	def, ok := defs[name]
	if !ok {
		return nil, fmt.Errorf("%w: %s.$ref %q: no such definition", ErrSchema, at, r)
	}
	s := &Schema{}
	c.refs[r] = s
	return s, c.fill(s, def, r, 0)
}

// finish resolves the unions' leaves and every schema's shortest value.
func (c *compiler) finish() error {
	for _, s := range c.all {
		if s.alts != nil {
			c.leaves(s)
			if len(s.leaves) > maxLeaves {
				return fmt.Errorf("%w: %s stands for more than %d alternatives", ErrSchema, c.at[s], maxLeaves)
			}
		}
	}
	// The shortest values, to a fixed point (a recursive schema's come
	// from its other alternatives).
	for changed := true; changed; {
		changed = false
		for _, s := range c.all {
			if m := s.minValue(); m != nil && (s.min == nil || len(m) < len(s.min)) {
				s.min, changed = m, true
			}
		}
	}
	for _, s := range c.all {
		if s.min == nil {
			return fmt.Errorf("%w: %s allows no value (none shorter than %d bytes)", ErrSchema, c.at[s], maxMin)
		}
		if s.nest = nesting(s.min); s.nest > MaxDepth {
			return fmt.Errorf("%w: %s: its shortest value nests more than %d levels", ErrSchema, c.at[s], MaxDepth)
		}
	}
	for _, s := range c.all {
		for i, p := range s.props {
			s.propNest = max(s.propNest, p.s.nest)
			if s.required&(1<<i) != 0 {
				s.need = max(s.need, p.s.nest)
			}
		}
		if s.minItems > 0 && s.items != nil {
			s.need = max(s.need, s.items.nest)
		}
	}
	return nil
}

// leaves fills in the leaves of union u: those of its alternatives, of
// the types u's type keyword (and those of the unions on the way) allow; a
// union met again on the way (a cycle of unions) adds none.
func (c *compiler) leaves(u *Schema) {
	u.leaves = []*Schema{}
	type visit struct {
		u *Schema
		t uint8
	}
	seen := map[visit]bool{}
	var walk func(w *Schema, t uint8)
	walk = func(w *Schema, t uint8) {
		t &= w.types
		if seen[visit{w, t}] {
			return
		}
		seen[visit{w, t}] = true
		for _, a := range w.alts {
			if a.alts != nil {
				walk(a, t)
			} else if l := c.narrow(a, t); l != nil && !slices.Contains(u.leaves, l) {
				u.leaves = append(u.leaves, l)
			}
		}
	}
	walk(u, tAny)
}

// narrow is leaf l allowing the types t only: l, a copy (one per leaf and
// types), or nil when that allows nothing.
func (c *compiler) narrow(l *Schema, t uint8) *Schema {
	if l.types&t == l.types {
		return l
	}
	if l.types&t == 0 {
		return nil
	}
	k := narrowed{l, t}
	if n, ok := c.narrowed[k]; ok {
		return n
	}
	n := *l
	n.types &= t
	if l.enum != nil {
		n.enum = [][]byte{}
		for _, e := range l.enum {
			var v any
			_ = json.Unmarshal(e, &v)
			if n.scalarOK(v) {
				n.enum = append(n.enum, e)
			}
		}
	}
	var r *Schema
	if n.enum == nil || len(n.enum) > 0 {
		r = &n
		c.all = append(c.all, r)
		c.at[r] = c.at[l]
	}
	c.narrowed[k] = r
	return r
}

type narrowed struct {
	s *Schema
	t uint8
}

// minValue is the shortest value the schema allows, from the shortest
// of the schemas below known so far (nil: none known).
func (s *Schema) minValue() []byte {
	var best []byte
	try := func(b []byte) {
		if b != nil && len(b) <= maxMin && (best == nil || len(b) < len(best)) {
			best = b
		}
	}
	if s.leaves != nil {
		for _, l := range s.leaves {
			try(l.min)
		}
		return best
	}
	if s.enum != nil {
		for _, e := range s.enum {
			try(e)
		}
		return best
	}
	if s.types&(tNumber|tInteger) != 0 {
		try([]byte("0"))
	}
	if s.types&tString != 0 && (s.maxLen < 0 || s.minLen <= s.maxLen) {
		b := []byte{'"'}
		for range min(s.minLen, maxMin) {
			b = append(b, 'a')
		}
		try(append(b, '"'))
	}
	if s.types&tArray != 0 && (s.maxItems < 0 || s.minItems <= s.maxItems) {
		b := []byte{'['}
		for i := range s.minItems {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, s.items.minOrAny()...)
			if len(b) > maxMin {
				break
			}
		}
		if s.minItems == 0 || s.items.minOrAny() != nil {
			try(append(b, ']'))
		}
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
				if p.s.min == nil {
					return best
				}
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
