package api

import (
	"bytes"
	"encoding/json"
	"strings"
	"unicode/utf8"
)

// Qwen3-Coder writes calls as XML inside <tool_call> blocks:
//
//	<tool_call>
//	<function=get_weather>
//	<parameter=city>
//	Paris
//	</parameter>
//	</function>
//	</tool_call>
//
// A value is the text between <parameter=NAME>\n and \n</parameter>: a
// string when the tool's schema says the parameter is one (given out
// piece by piece as it comes), else JSON when it reads as JSON, else a
// string (given out whole once it has ended). The arguments are the JSON
// object of the parameters, compacted.

const (
	xmlFunction     = "<function="
	xmlFunctionEnd  = "</function>"
	xmlParameter    = "<parameter="
	xmlParameterEnd = "</parameter>"
)

// xmlCall is the state of an XML call being read.
type xmlCall struct {
	params   int    // parameters begun
	param    string // the current parameter
	str      bool   // its value is a string, given out as it comes
	lead     bool   // its value's leading newline is not yet dropped
	args     string // the arguments given out so far
	valueEnd bool
}

// paramTypes are the JSON Schema types of the tools' parameters.
func paramTypes(tools []Tool) map[string]map[string]string {
	out := map[string]map[string]string{}
	for _, t := range tools {
		var schema struct {
			Properties map[string]struct {
				Type json.RawMessage `json:"type"`
			} `json:"properties"`
		}
		if json.Unmarshal(t.Function.Parameters, &schema) != nil {
			continue
		}
		m := map[string]string{}
		for name, p := range schema.Properties {
			var one string
			var many []string
			switch {
			case json.Unmarshal(p.Type, &one) == nil:
				m[name] = one
			case json.Unmarshal(p.Type, &many) == nil:
				for _, ty := range many {
					if ty != "null" {
						m[name] = ty
						break
					}
				}
			}
		}
		out[t.Function.Name] = m
	}
	return out
}

// jsonString is s as the text of a JSON string, without its quotes (HTML
// characters kept): escaping a text in pieces gives the escaping of the
// whole.
func jsonString(s string) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	out := strings.TrimSuffix(b.String(), "\n")
	return out[1 : len(out)-1]
}

// emitArgs gives out a piece of the XML call's arguments.
func (s *toolStream) emitArgs(piece string) {
	s.xml.args += piece
	s.advance(partialCall{name: s.cur.name, nameDone: true, argsBegun: true, args: s.xml.args})
}

// stepXML reads an XML call; it returns false when it needs more text.
func (s *toolStream) stepXML(eof bool) bool {
	switch s.state {
	case tsXMLName:
		i := strings.IndexByte(s.buf, '>')
		if i < 0 {
			if !eof && len(s.buf) <= maxToolName {
				return false
			}
			s.fail()
			return true
		}
		name := s.buf[:i]
		if !s.names[name] {
			s.fail()
			return true
		}
		s.buf, s.state, s.cur = s.buf[i+1:], tsXMLParams, nil
		s.xml = xmlCall{}
		s.advance(partialCall{name: name, nameDone: true, argsBegun: true})
		s.emitArgs("{")
	case tsXMLParams:
		t := strings.TrimLeft(s.buf, " \t\r\n")
		switch {
		case strings.HasPrefix(t, xmlParameter):
			i := strings.IndexByte(t, '>')
			if i < 0 {
				if !eof && len(t) <= len(xmlParameter)+maxToolName {
					return false
				}
				s.fail()
				return true
			}
			p := t[len(xmlParameter):i]
			key, _ := json.Marshal(p)
			if s.xml.params > 0 {
				s.emitArgs(",")
			}
			s.xml.params++
			s.xml.param, s.xml.lead = p, true
			s.xml.str = s.types[s.cur.name][p] == "string"
			s.emitArgs(string(key) + ":")
			if s.xml.str {
				s.emitArgs(`"`)
			}
			s.buf, s.state = t[i+1:], tsXMLValue
		case strings.HasPrefix(t, xmlFunctionEnd):
			s.emitArgs("}")
			q, _ := json.Marshal(s.cur.name)
			if !s.finish(`{"name":` + string(q) + `,"arguments":` + s.xml.args + `}`) {
				s.state = tsSkip
				return true
			}
			s.buf, s.state = t[len(xmlFunctionEnd):], tsHermesClose
		case !eof && (strings.HasPrefix(xmlParameter, t) || strings.HasPrefix(xmlFunctionEnd, t)):
			return false
		default:
			s.fail()
		}
	case tsXMLValue:
		if s.xml.lead {
			if s.buf == "" && !eof {
				return false
			}
			s.buf = strings.TrimPrefix(s.buf, "\n")
			s.xml.lead = false
		}
		i := strings.Index(s.buf, xmlParameterEnd)
		if i < 0 {
			if eof {
				s.fail()
				return true
			}
			if s.xml.str {
				keep := heldPrefix(s.buf, []string{"\n" + xmlParameterEnd, xmlParameterEnd})
				// Nor a character cut short.
				for k := 1; k <= min(utf8.UTFMax, len(s.buf)-keep); k++ {
					if c := s.buf[len(s.buf)-keep-k]; utf8.RuneStart(c) {
						if !utf8.FullRuneInString(s.buf[len(s.buf)-keep-k : len(s.buf)-keep]) {
							keep += k
						}
						break
					}
				}
				if piece := s.buf[:len(s.buf)-keep]; piece != "" {
					s.emitArgs(jsonString(piece))
					s.buf = s.buf[len(piece):]
				}
			}
			return false
		}
		value := strings.TrimSuffix(s.buf[:i], "\n")
		switch {
		case s.xml.str:
			s.emitArgs(jsonString(value) + `"`)
		case json.Valid([]byte(value)) && strings.TrimSpace(value) != "":
			s.emitArgs(compactJSON(strings.TrimSpace(value)))
		default:
			s.emitArgs(`"` + jsonString(value) + `"`)
		}
		s.buf, s.state = s.buf[i+len(xmlParameterEnd):], tsXMLParams
	}
	return true
}
