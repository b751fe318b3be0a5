package api

import (
	"encoding/json"
	"strings"
)

// Helpers that read JSON as a model writes it, a piece at a time: where a
// value ends (if it has ended yet), and the text of a value with the
// whitespace outside its strings left out (what json.Compact gives for a
// valid value, and a prefix of it for a prefix of the value).

// isJSONSpace reports JSON's insignificant whitespace.
func isJSONSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// skipJSONSpace returns the offset of the first byte at or after i that is
// not whitespace.
func skipJSONSpace(s string, i int) int {
	for i < len(s) && isJSONSpace(s[i]) {
		i++
	}
	return i
}

// jsonValueEnd returns where the JSON value that starts at s[i] ends and
// whether it has ended within s. Strings and nesting are followed, not
// validated; a number or literal ends at the first byte that cannot be
// part of one (so at the end of s it has not ended yet). ok is false when
// no value can start at s[i].
func jsonValueEnd(s string, i int) (end int, complete, ok bool) {
	if i >= len(s) {
		return i, false, true
	}
	switch c := s[i]; {
	case c == '"':
		for j := i + 1; j < len(s); j++ {
			switch s[j] {
			case '\\':
				j++
			case '"':
				return j + 1, true, true
			}
		}
		return len(s), false, true
	case c == '{' || c == '[':
		depth, inStr := 0, false
		for j := i; j < len(s); j++ {
			b := s[j]
			if inStr {
				switch b {
				case '\\':
					j++
				case '"':
					inStr = false
				}
				continue
			}
			switch b {
			case '"':
				inStr = true
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1, true, true
				}
			}
		}
		return len(s), false, true
	case c == '-' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z'):
		j := i
		for j < len(s) && (s[j] == '-' || s[j] == '+' || s[j] == '.' || (s[j] >= '0' && s[j] <= '9') || (s[j] >= 'a' && s[j] <= 'z') || (s[j] >= 'A' && s[j] <= 'Z')) {
			j++
		}
		return j, j < len(s), true
	}
	return i, false, false
}

// compactJSON is s without the whitespace outside its strings. s is a
// prefix of a JSON value starting at its first byte: compacting a longer
// prefix only adds to the result.
func compactJSON(s string) string {
	var b strings.Builder
	inStr, esc := false, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case inStr:
			switch {
			case esc:
				esc = false
			case c == '\\':
				esc = true
			case c == '"':
				inStr = false
			}
		case c == '"':
			inStr = true
		case isJSONSpace(c):
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// partialCall is what a prefix of a call object, {"name": ..., "arguments"
// (or "parameters"): {...}} with any other members, shows so far.
type partialCall struct {
	name     string
	nameDone bool
	// args is the arguments so far: the compacted prefix of an object, or
	// (given as a JSON string holding an object) the string's text once
	// it has ended. argsBegun: the value has begun as an object, a string
	// or null; argsDone: it has ended.
	args      string
	argsBegun bool
	argsDone  bool
	// done: the object has ended, at end.
	done bool
	end  int
	// bad: s is not the beginning of a call object.
	bad bool
}

// scanCall reads the call object at the start of s (after whitespace).
// It reads the object's structure only; callFromJSON checks the whole
// object once it has ended.
func scanCall(s string) partialCall {
	var pc partialCall
	i := skipJSONSpace(s, 0)
	if i == len(s) {
		return pc
	}
	if s[i] != '{' {
		pc.bad = true
		return pc
	}
	i++
	first := true
	for {
		i = skipJSONSpace(s, i)
		if i == len(s) {
			return pc
		}
		if s[i] == '}' {
			pc.done, pc.end = true, i+1
			return pc
		}
		if !first {
			if s[i] != ',' {
				pc.bad = true
				return pc
			}
			if i = skipJSONSpace(s, i+1); i == len(s) {
				return pc
			}
		}
		first = false
		if s[i] != '"' {
			pc.bad = true
			return pc
		}
		end, complete, _ := jsonValueEnd(s, i)
		if !complete {
			return pc
		}
		var key string
		if json.Unmarshal([]byte(s[i:end]), &key) != nil {
			pc.bad = true
			return pc
		}
		if i = skipJSONSpace(s, end); i == len(s) {
			return pc
		}
		if s[i] != ':' {
			pc.bad = true
			return pc
		}
		if i = skipJSONSpace(s, i+1); i == len(s) {
			return pc
		}
		end, complete, ok := jsonValueEnd(s, i)
		if !ok {
			pc.bad = true
			return pc
		}
		switch key {
		case "name":
			if s[i] != '"' {
				pc.bad = true
				return pc
			}
			if !complete {
				return pc
			}
			if json.Unmarshal([]byte(s[i:end]), &pc.name) != nil {
				pc.bad = true
				return pc
			}
			pc.nameDone = true
		case "arguments", "parameters":
			if pc.argsBegun {
				pc.bad = true // given twice
				return pc
			}
			switch s[i] {
			case '{':
				pc.argsBegun = true
				pc.args = compactJSON(s[i:end])
			case '"':
				pc.argsBegun = true
				if !complete {
					return pc
				}
				var obj map[string]any
				if json.Unmarshal([]byte(s[i:end]), &pc.args) != nil || json.Unmarshal([]byte(pc.args), &obj) != nil || obj == nil {
					pc.bad = true
					return pc
				}
			case 'n':
				pc.argsBegun = true
				if complete {
					if s[i:end] != "null" {
						pc.bad = true
						return pc
					}
					pc.args = "{}"
				}
			default:
				pc.bad = true
				return pc
			}
			if !complete {
				return pc
			}
			pc.argsDone = true
		default:
			if !complete {
				return pc
			}
		}
		i = end
	}
}
