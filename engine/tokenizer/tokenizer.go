package tokenizer

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/orbitswarm/orbit/engine/gguf"
)

// Tokenizer encodes text to token ids and back. It is safe for concurrent
// use.
type Tokenizer struct {
	v     *Vocab
	n     int
	spm   bool
	types []int32

	toID       map[string]int32 // every token text (the last id wins, as in llama.cpp)
	pieces     map[string]int32 // SPM: pieces that merges may produce
	crossSpace map[rune]bool    // SPM: characters that precede U+2581 inside some piece
	spmChar    map[string]int32 // SPM: id of a one-character symbol (ids >= n: characters of pieces that are not pieces)
	spmASCII   [128]int32       // spmChar for ASCII
	spmPairs   map[uint64]int32 // SPM: (symbol, symbol) -> the piece they merge into
	byteTok    [256]int32       // SPM: <0xNN> tokens; BPE: the symbol of each byte (ids >= n are not tokens)

	merges       map[uint64]mergeVal
	split        splitter
	ignoreMerges bool

	specials     []special
	specialFirst [256]bool
	specialIdx   map[string]int // text -> index in specials
	specialLens  [256][]int     // distinct lengths of specials by first byte

	piece  [][]byte // TokenPiece of every id
	eog    []bool
	spmBuf sync.Pool
	bpeBuf sync.Pool
}

// special is a token matched in the input text before tokenization.
type special struct {
	text           string
	id             int32
	needParse      bool // control/unknown: only when parseSpecial is set (only user-defined ones always)
	lstrip, rstrip bool // drop whitespace before / after the token
}

// eogTexts are the texts of tokens that end generation besides EOS.
var eogTexts = map[string]bool{
	"<|eot_id|>": true, "<|eom_id|>": true, "<|im_end|>": true, "<|end|>": true,
	"<|endoftext|>": true, "<|end_of_text|>": true, "<end_of_turn>": true,
	"<EOT>": true, "_<EOT>": true, "<|return|>": true, "<|call|>": true,
	"<end_of_utterance>": true, "[EOT]": true, "[EOS]": true, // Kimi K2
}

// New builds a tokenizer for v. It returns an error for malformed or
// unsupported vocabularies. v must not be modified afterwards.
func New(v *Vocab) (*Tokenizer, error) {
	if v == nil {
		return nil, vocabErr("nil vocabulary")
	}
	if err := v.Validate(); err != nil {
		return nil, err
	}
	t := &Tokenizer{v: v, n: len(v.Tokens)}
	switch v.Model {
	case ModelSPM:
		t.spm = true
	case ModelGPT2:
		k := preKindOf(v.Pre)
		if t.split = splitterFor(k); t.split == nil {
			return nil, fmt.Errorf("tokenizer: unsupported pre-tokenizer %q", v.Pre)
		}
		t.ignoreMerges = k == preLlama3
	default:
		return nil, fmt.Errorf("tokenizer: unsupported tokenizer model %q", v.Model)
	}

	t.types = make([]int32, t.n)
	for i := range t.types {
		t.types[i] = v.TypeOf(int32(i))
		if v.Types == nil && t.spm {
			if _, ok := parseByteToken(v.Tokens[i]); ok {
				t.types[i] = TokenByte
			}
		}
	}
	t.toID = make(map[string]int32, t.n)
	for i, s := range v.Tokens {
		t.toID[s] = int32(i)
	}

	if t.spm {
		t.initSPM()
	} else {
		t.initBPE()
	}
	t.initSpecials()
	t.initPieces()

	t.eog = make([]bool, t.n)
	if v.EOS >= 0 {
		t.eog[v.EOS] = true
	}
	for i, s := range v.Tokens {
		if eogTexts[s] {
			t.eog[i] = true
		}
	}
	for _, id := range t.plainOverrides() {
		t.piece[id] = []byte(v.Tokens[id])
		t.eog[id] = false
	}
	t.spmBuf.New = func() any { return new(spmState) }
	t.bpeBuf.New = func() any { return new(bpeState) }
	return t, nil
}

// FromGGUF builds the tokenizer described by the metadata of f.
func FromGGUF(f *gguf.File) (*Tokenizer, error) {
	v, err := VocabFromGGUF(f)
	if err != nil {
		return nil, err
	}
	return New(v)
}

// Vocab returns the vocabulary (not to be modified).
func (t *Tokenizer) Vocab() *Vocab { return t.v }

// NumTokens is the vocabulary size.
func (t *Tokenizer) NumTokens() int { return t.n }

// parseByteToken parses an SPM byte token "<0xNN>".
func parseByteToken(s string) (byte, bool) {
	if len(s) != 6 || s[0] != '<' || s[1] != '0' || s[2] != 'x' || s[5] != '>' {
		return 0, false
	}
	hi, ok1 := unhex(s[3])
	lo, ok2 := unhex(s[4])
	return hi<<4 | lo, ok1 && ok2
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}

func (t *Tokenizer) initSPM() {
	t.pieces = make(map[string]int32, t.n)
	for i, s := range t.v.Tokens {
		switch t.types[i] {
		case TokenControl, TokenUnknown, TokenByte:
			continue
		}
		t.pieces[s] = int32(i)
	}
	t.crossSpace = map[rune]bool{}
	t.spmChar = map[string]int32{}
	for s, id := range t.pieces {
		if _, w := utf8.DecodeRuneInString(s); w == len(s) {
			t.spmChar[s] = id
		}
	}
	extra := int32(t.n)
	symID := func(s string) (int32, bool) {
		if id, ok := t.pieces[s]; ok {
			return id, true
		}
		if _, w := utf8.DecodeRuneInString(s); w != len(s) {
			return 0, false // several characters and not a piece: never a symbol
		}
		id, ok := t.spmChar[s]
		if !ok {
			id = extra
			extra++
			t.spmChar[s] = id
		}
		return id, true
	}
	t.spmPairs = make(map[uint64]int32, 4*len(t.pieces))
	for s, id := range t.pieces {
		for i := 0; i < len(s); {
			_, w := utf8.DecodeRuneInString(s[i:])
			if i > 0 {
				if strings.HasPrefix(s[i:], spaceEsc) {
					r, _ := utf8.DecodeLastRuneInString(s[:i])
					t.crossSpace[r] = true
				}
				a, okA := symID(s[:i])
				b, okB := symID(s[i:])
				if okA && okB {
					t.spmPairs[mergeKey(a, b)] = id
				}
			}
			i += w
		}
	}
	for c := range t.spmASCII {
		t.spmASCII[c] = -1
		if id, ok := t.spmChar[string(rune(c))]; ok {
			t.spmASCII[c] = id
		}
	}
	const hex = "0123456789ABCDEF"
	for b := 0; b < 256; b++ {
		id := int32(-1)
		if x, ok := t.toID[string([]byte{'<', '0', 'x', hex[b>>4], hex[b&15], '>'})]; ok {
			id = x
		} else if x, ok := t.pieces[string([]byte{byte(b)})]; ok {
			id = x
		} else if t.v.UNK >= 0 {
			id = t.v.UNK
		}
		t.byteTok[b] = id
	}
}

func (t *Tokenizer) initBPE() {
	var extra map[string]int32 // strings used by merges that are not tokens
	symID := func(s string) int32 {
		if id, ok := t.toID[s]; ok {
			return id
		}
		if id, ok := extra[s]; ok {
			return id
		}
		if extra == nil {
			extra = make(map[string]int32)
		}
		id := int32(t.n + len(extra))
		extra[s] = id
		return id
	}
	for b := 0; b < 256; b++ {
		t.byteTok[b] = symID(string(byteToRune[b]))
	}
	t.merges = make(map[uint64]mergeVal, len(t.v.Merges))
	for rank, m := range t.v.Merges {
		a, b, _ := splitMerge(m)
		key := mergeKey(symID(a), symID(b))
		if _, dup := t.merges[key]; dup {
			continue // the first (lowest) rank wins
		}
		t.merges[key] = mergeVal{rank: int32(rank), id: symID(a + b)}
	}
}

// controlLooking reports whether llama.cpp takes a token with this text
// for an end-of-generation token, which it then makes a control token
// whatever its type in the vocabulary (llama-vocab.cpp, "control-looking
// token ... its type will be overridden"): with special-token parsing off
// its text is plain text, even for a user-defined or normal token.
func controlLooking(text string) bool {
	switch text {
	case "<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>", "<|flush|>", "<|calls|>",
		"<end_of_turn>", "<|endoftext|>", "</s>", "<|eom_id|>", "<EOT>", "_<EOT>", "[EOT]", "[EOS]",
		"<|end_of_text|>", "<end_of_utterance>", "<eos>", "<turn|>", "<|tool_response>",
		"<｜end▁of▁sentence｜>", "[e~[":
		return true
	}
	return false
}

// specialKinds returns, as llama.cpp computes them when it loads a
// vocabulary, which tokens are control tokens and which user-defined or
// unknown ones: the vocabulary's types, then its overrides by text (see
// controlLooking; gpt-oss's <|channel|>, <|message|>, <|start|> and
// <|constrain|> are user-defined; <|end|> is user-defined beside
// <|return|> and <|call|>, or <|calls|> and <|flush|>; </s> is normal
// beside <|tool_response>).
func (t *Tokenizer) specialKinds() (control, plain []bool) {
	control, plain = make([]bool, t.n), make([]bool, t.n)
	for i, s := range t.v.Tokens {
		ty := t.types[i]
		control[i] = ty == TokenControl || controlLooking(s)
		plain[i] = ty == TokenUserDefined || ty == TokenUnknown
		if ty == TokenUnknown {
			control[i] = true // like control: parsed only with parseSpecial
		}
	}
	for _, id := range t.plainOverrides() {
		control[id], plain[id] = false, true
	}
	if _, ok := t.toID["<|tool_response>"]; ok {
		if id, ok := t.toID["</s>"]; ok {
			control[id], plain[id] = false, false
		}
	}
	return control, plain
}

// plainOverrides are the tokens llama.cpp makes user-defined whatever
// their type, so that they are text in the output: gpt-oss's <|channel|>,
// <|message|>, <|start|> and <|constrain|>, and <|end|> beside <|return|>
// and <|call|> (or <|calls|> and <|flush|>), which then no longer ends
// generation (gpt-oss goes on from its analysis to its final message).
func (t *Tokenizer) plainOverrides() []int32 {
	var out []int32
	for _, s := range []string{"<|channel|>", "<|message|>", "<|start|>", "<|constrain|>"} {
		if id, ok := t.toID[s]; ok {
			out = append(out, id)
		}
	}
	has := func(text string) bool { _, ok := t.toID[text]; return ok }
	if has("<|end|>") && ((has("<|return|>") && (has("<|call|>") || has("<|calls|>"))) || ((has("<|call|>") || has("<|calls|>")) && has("<|flush|>"))) {
		out = append(out, t.toID["<|end|>"])
	}
	return out
}

func (t *Tokenizer) initSpecials() {
	name := strings.ToLower(t.v.Name)
	phi3 := strings.Contains(name, "phi-3") || strings.Contains(name, "phi3")
	control, plain := t.specialKinds()
	for i, s := range t.v.Tokens {
		if s == "" || (!control[i] && !plain[i]) {
			continue
		}
		sp := special{text: s, id: int32(i), needParse: control[i]}
		if phi3 {
			// llama.cpp strips whitespace after Phi-3's special tokens
			// and </s> (HF's rstrip), except after these three.
			sp.rstrip = s != "<unk>" && s != "<s>" && s != "<|endoftext|>"
		}
		t.specials = append(t.specials, sp)
		t.specialFirst[s[0]] = true
	}
	sort.SliceStable(t.specials, func(i, j int) bool { return len(t.specials[i].text) > len(t.specials[j].text) })
	t.specialIdx = make(map[string]int, len(t.specials))
	for i, sp := range t.specials {
		if _, dup := t.specialIdx[sp.text]; !dup {
			t.specialIdx[sp.text] = i
		}
		c, l := sp.text[0], len(sp.text)
		if !slices.Contains(t.specialLens[c], l) {
			t.specialLens[c] = append(t.specialLens[c], l)
		}
	}
}

func (t *Tokenizer) initPieces() {
	t.piece = make([][]byte, t.n)
	var buf []byte
	for i, s := range t.v.Tokens {
		var p []byte
		switch t.types[i] {
		case TokenControl, TokenUnused:
			// nothing
		case TokenUserDefined:
			p = []byte(s)
		case TokenUnknown:
			if t.spm {
				p = []byte("\u2585")
			}
		case TokenByte:
			if b, ok := parseByteToken(s); ok {
				p = []byte{b}
			} else if t.spm {
				p = []byte(unescapeSPM(s))
			} else {
				p = byteLevelDecode(buf[:0], s)
			}
		default:
			if t.spm {
				p = []byte(unescapeSPM(s))
			} else {
				buf = byteLevelDecode(buf[:0], s)
				p = append([]byte(nil), buf...)
			}
		}
		t.piece[i] = p
	}
}

// byteLevelDecode maps GPT-2 byte-level characters back to bytes; characters
// outside the mapping are kept as UTF-8.
func byteLevelDecode(dst []byte, s string) []byte {
	for _, r := range s {
		if b, ok := runeToByte[r]; ok {
			dst = append(dst, b)
		} else {
			dst = utf8.AppendRune(dst, r)
		}
	}
	return dst
}

// frag is a piece of the input: raw text (id < 0) or a special token.
type frag struct {
	text string
	id   int32
	off  int // of text in the input
}

// partition splits text at special tokens the way llama.cpp does: each
// special token, longest first, is searched in the remaining raw fragments.
// User-defined tokens are always matched; control and unknown tokens only
// when parseSpecial is set.
//
// literal, when not empty, lists byte ranges [start, end) of text in which
// no special token is recognised (a match overlapping one is left as
// text).
func (t *Tokenizer) partition(text string, parseSpecial bool, literal [][2]int) []frag {
	frags := []frag{{text: text, id: -1}}
	if len(t.specials) == 0 {
		return frags
	}
	// Find which specials occur at all (one pass), so that only those are
	// searched for.
	var present []bool
	for i := 0; i < len(text); i++ {
		c := text[i]
		if !t.specialFirst[c] {
			continue
		}
		for _, l := range t.specialLens[c] {
			if i+l > len(text) {
				continue
			}
			if k, ok := t.specialIdx[text[i:i+l]]; ok {
				if present == nil {
					present = make([]bool, len(t.specials))
				}
				present[k] = true
			}
		}
	}
	if present == nil {
		return frags
	}
	var next []frag
	for si := range t.specials {
		sp := &t.specials[si]
		if (sp.needParse && !parseSpecial) || !present[t.specialIdx[sp.text]] {
			continue
		}
		changed := false
		next = next[:0]
		for _, f := range frags {
			if f.id >= 0 || !strings.Contains(f.text, sp.text) {
				next = append(next, f)
				continue
			}
			changed = true
			s, off := f.text, f.off
			from := 0 // where to search s for the token
			for s != "" {
				i := strings.Index(s[from:], sp.text)
				if i >= 0 {
					i += from
				}
				if i >= 0 && inLiteral(literal, off+i, off+i+len(sp.text)) {
					from = i + 1
					continue
				}
				if i < 0 {
					next = append(next, frag{text: s, id: -1, off: off})
					break
				}
				left := s[:i]
				if sp.lstrip {
					left = strings.TrimRight(left, cSpace)
				}
				if left != "" {
					next = append(next, frag{text: left, id: -1, off: off})
				}
				next = append(next, frag{id: sp.id, off: off + i})
				s, off, from = s[i+len(sp.text):], off+i+len(sp.text), 0
				if sp.rstrip {
					n := len(s)
					s = strings.TrimLeft(s, cSpace)
					off += n - len(s)
				}
			}
		}
		if changed {
			frags, next = next, frags
		}
	}
	return frags
}

// inLiteral reports whether [start, end) overlaps a literal range.
func inLiteral(literal [][2]int, start, end int) bool {
	for _, r := range literal {
		if start < r[1] && r[0] < end {
			return true
		}
	}
	return false
}

// cSpace is C's isspace set, used for lstrip/rstrip.
const cSpace = " \t\n\v\f\r"

// Encode tokenizes text. addSpecial adds BOS/EOS as the vocabulary asks
// (AddBOS/AddEOS); parseSpecial recognises the texts of control and
// unknown tokens (like <|im_start|> or </s>) in the input; user-defined
// tokens are always recognised, unless llama.cpp makes them control
// tokens (see controlLooking: phi-3's user-defined </s> is plain text
// without parseSpecial, qwen2's normal </s> one token with it). Invalid UTF-8 is encoded with byte tokens (SPM) or byte-level
// symbols (BPE).
func (t *Tokenizer) Encode(text string, addSpecial, parseSpecial bool) []int32 {
	return t.encode(text, addSpecial, parseSpecial, nil)
}

// EncodeLiteral is Encode with special-token parsing except inside the
// byte ranges literal ([start, end) of text): a rendered chat template's
// markers are special tokens, while text that API users wrote (their
// messages) is tokenized as plain text even where it spells a special
// token. Tokenization is otherwise that of the whole text, so that without
// special texts in the literal ranges it equals Encode(text, addSpecial,
// true).
func (t *Tokenizer) EncodeLiteral(text string, addSpecial bool, literal [][2]int) []int32 {
	return t.encode(text, addSpecial, true, literal)
}

func (t *Tokenizer) encode(text string, addSpecial, parseSpecial bool, literal [][2]int) []int32 {
	out := make([]int32, 0, len(text)/3+2)
	if addSpecial && t.v.AddBOS && t.v.BOS >= 0 {
		out = append(out, t.v.BOS)
	}
	if text != "" {
		frags := t.partition(text, parseSpecial, literal)
		if t.spm {
			st := t.spmBuf.Get().(*spmState)
			prevSpecial := true
			for _, f := range frags {
				if f.id >= 0 {
					out = append(out, f.id)
					prevSpecial = true
					continue
				}
				s := f.text
				if t.v.AddSpacePrefix && prevSpecial {
					s = " " + s
				}
				out = t.encodeSPM(st, s, out)
				prevSpecial = false
			}
			t.spmBuf.Put(st)
		} else {
			st := t.bpeBuf.Get().(*bpeState)
			for _, f := range frags {
				if f.id >= 0 {
					out = append(out, f.id)
					continue
				}
				out = t.encodeBPE(st, f.text, out)
			}
			t.bpeBuf.Put(st)
		}
	}
	if addSpecial && t.v.AddEOS && t.v.EOS >= 0 {
		out = append(out, t.v.EOS)
	}
	return out
}

// TokenPiece returns the bytes token id contributes to the text: SPM pieces
// with U+2581 as space and <0xNN> as that byte, byte-level BPE tokens
// unmapped to bytes, user-defined tokens verbatim, control tokens nothing.
// It may be an incomplete UTF-8 sequence. The slice must not be modified.
func (t *Tokenizer) TokenPiece(id int32) []byte {
	if id < 0 || int(id) >= t.n {
		return nil
	}
	return t.piece[id]
}

// TokenText returns the vocabulary text of id ("" if out of range).
func (t *Tokenizer) TokenText(id int32) string {
	if id < 0 || int(id) >= t.n {
		return ""
	}
	return t.v.Tokens[id]
}

// TokenType returns the type of id (TokenUndefined if out of range).
func (t *Tokenizer) TokenType(id int32) int32 {
	if id < 0 || int(id) >= t.n {
		return TokenUndefined
	}
	return t.types[id]
}

// TokenID returns the id of the token with exactly this vocabulary text.
func (t *Tokenizer) TokenID(text string) (int32, bool) {
	id, ok := t.toID[text]
	return id, ok
}

// Decode returns the text of ids: the concatenation of their pieces. For SPM
// vocabularies with AddSpacePrefix, the leading space of the first piece is
// dropped (the one Encode adds), so Decode(Encode(s, ...)) == s. Invalid ids
// are skipped; the result is not checked to be valid UTF-8.
func (t *Tokenizer) Decode(ids []int32) string {
	var b []byte
	strip := t.spm && t.v.AddSpacePrefix
	for _, id := range ids {
		p := t.TokenPiece(id)
		if len(p) == 0 {
			continue
		}
		if strip {
			strip = false
			if p[0] == ' ' {
				p = p[1:]
			}
		}
		b = append(b, p...)
	}
	return string(b)
}

// IsEOG reports whether id ends generation: EOS, and tokens such as
// <|eot_id|>, <|eom_id|>, <|im_end|>, <|end|> or <|endoftext|>.
func (t *Tokenizer) IsEOG(id int32) bool {
	return id >= 0 && int(id) < t.n && t.eog[id]
}

// IsControl reports whether id is a control token (rendered as nothing).
func (t *Tokenizer) IsControl(id int32) bool { return t.TokenType(id) == TokenControl }

// StreamDecoder turns a stream of token ids into text, holding back
// incomplete UTF-8 sequences until they are complete.
type StreamDecoder struct {
	t       *Tokenizer
	pending []byte
	prev    int32
}

// NewStreamDecoder returns a decoder for a new token stream. As in llama2.c,
// the leading space of a piece right after BOS is dropped (SPM vocabularies
// with AddSpacePrefix), so streaming BOS-first sequences gives Decode's text.
func (t *Tokenizer) NewStreamDecoder() *StreamDecoder {
	return &StreamDecoder{t: t, prev: -1}
}

// Next adds id to the stream and returns the newly completed text, which is
// valid UTF-8: bytes that can never form a valid sequence are replaced with
// U+FFFD; an incomplete trailing sequence is held back.
func (d *StreamDecoder) Next(id int32) string {
	p := d.t.TokenPiece(id)
	if d.prev >= 0 && d.prev == d.t.v.BOS && d.t.spm && d.t.v.AddSpacePrefix && len(p) > 0 && p[0] == ' ' {
		p = p[1:]
	}
	d.prev = id
	if len(p) == 0 {
		return ""
	}
	d.pending = append(d.pending, p...)
	// Find where a trailing incomplete (but possibly valid) sequence starts.
	buf := d.pending
	cut := len(buf)
	for i := len(buf) - 1; i >= 0 && i >= len(buf)-utf8.UTFMax; i-- {
		if utf8.RuneStart(buf[i]) {
			if !utf8.FullRune(buf[i:]) {
				cut = i
			}
			break
		}
	}
	out := validUTF8(buf[:cut])
	d.pending = append(d.pending[:0], buf[cut:]...)
	return out
}

// Flush returns any held-back bytes (as U+FFFD) and resets the pending state.
func (d *StreamDecoder) Flush() string {
	out := validUTF8(d.pending)
	d.pending = d.pending[:0]
	return out
}

func validUTF8(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	return strings.ToValidUTF8(string(b), "\uFFFD")
}
