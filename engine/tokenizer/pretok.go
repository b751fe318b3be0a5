package tokenizer

import (
	"unicode"
	"unicode/utf8"
)

// preKind selects the pre-tokenizer of a byte-level BPE vocabulary.
type preKind int

const (
	preUnknown       preKind = iota
	preDefault               // llama.cpp's default: punctuation runs, GPT-2 rules, digit runs, groups of 3 ASCII digits
	preGPT2                  // GPT-2
	preLlama3                // Llama 3: case-insensitive contractions, letters with one leading non-letter, numbers by 1-3
	preQwen2                 // Llama 3 rules with single digits
	preGPT4o                 // o200k (gpt-oss, GPT-4o): case-aware words with contractions, numbers by 1-3
	preDeepseekLLM           // DeepSeek LLM (V2): six regexes in sequence, cased-script letters, CJK and Hangul runs
	preDeepseekCoder         // DeepSeek Coder: five regexes in sequence, single digits
	preDeepseekV3            // DeepSeek-V3/R1: numbers by 1-3, Han and kana runs, then words with marks
	preKimiK2                // Kimi K2: Han runs, other letters with contractions, numbers by 1-3
)

// preKindOf maps tokenizer.ggml.pre names to pre-tokenizers.
func preKindOf(name string) preKind {
	switch name {
	case "", "default":
		return preDefault
	case "gpt-2", "gpt2", "phi-2", "mpt", "olmo", "jais":
		return preGPT2
	case "llama3", "llama-v3", "llama-bpe", "falcon3", "pixtral":
		return preLlama3
	case "qwen2", "deepseek-r1-qwen", "megrez":
		return preQwen2
	case "gpt-4o", "minimax-m2":
		return preGPT4o
	case "deepseek-llm":
		return preDeepseekLLM
	case "deepseek-coder":
		return preDeepseekCoder
	case "deepseek-v3":
		return preDeepseekV3
	case "kimi-k2":
		return preKimiK2
	}
	return preUnknown
}

// Character classes of the pre-tokenizer regexes.
const (
	clsLetter = 1 << iota // \p{L}
	clsNumber             // \p{N}
	clsSpace              // \s
	clsPunct              // \p{P} or one of $+<=>^~| (the default pre-tokenizer's first regex)
	clsP                  // \p{P} alone
	clsS                  // \p{S}
	clsM                  // \p{M}
)

var asciiClass [128]uint8

func init() {
	for r := rune(0); r < 128; r++ {
		asciiClass[r] = runeClassSlow(r)
	}
}

func runeClassSlow(r rune) uint8 {
	var c uint8
	switch {
	case unicode.IsLetter(r):
		c = clsLetter
	case unicode.IsNumber(r):
		c = clsNumber
	case unicode.IsSpace(r):
		c = clsSpace
	}
	if unicode.IsPunct(r) {
		c |= clsPunct | clsP
	}
	if c&clsSpace == 0 {
		if unicode.IsSymbol(r) {
			c |= clsS
		}
		if unicode.IsMark(r) {
			c |= clsM
		}
	}
	switch r {
	case '$', '+', '<', '=', '>', '^', '~', '|':
		c |= clsPunct
	}
	return c
}

func runeClass(r rune) uint8 {
	if r < 128 && r >= 0 {
		return asciiClass[r]
	}
	return runeClassSlow(r)
}

// runeText is text decoded into runes with their classes and byte offsets.
// Invalid UTF-8 bytes become single runes of class 0 (like a symbol).
type runeText struct {
	r   []rune
	cls []uint8
	off []int // byte offset of each rune, plus the end offset
}

func (rt *runeText) reset(s string) {
	rt.r, rt.cls, rt.off = rt.r[:0], rt.cls[:0], rt.off[:0]
	for i := 0; i < len(s); {
		r, w := rune(s[i]), 1
		var c uint8
		if r < utf8.RuneSelf {
			c = asciiClass[r]
		} else {
			r, w = utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && w == 1 {
				r = -1
			} else {
				c = runeClassSlow(r)
			}
		}
		rt.r = append(rt.r, r)
		rt.cls = append(rt.cls, c)
		rt.off = append(rt.off, i)
		i += w
	}
	rt.off = append(rt.off, len(s))
}

// splitter is a scanner that splits runes [lo, hi) into words, calling emit
// with rune index ranges that cover [lo, hi) in order.
type splitter func(rt *runeText, lo, hi int, emit func(a, b int))

func isCRLF(r rune) bool { return r == '\r' || r == '\n' }

// splitGPT2 implements
// 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
func splitGPT2(rt *runeText, lo, hi int, emit func(a, b int)) {
	r, cls := rt.r, rt.cls
	clsAt := func(i int) (uint8, bool) {
		if i < hi {
			return cls[i], true
		}
		return 0, false
	}
	for pos := lo; pos < hi; {
		start := pos
		c := r[pos]
		if c == '\'' && pos+1 < hi {
			n := r[pos+1]
			if n == 's' || n == 't' || n == 'm' || n == 'd' {
				emit(pos, pos+2)
				pos += 2
				continue
			}
			if pos+2 < hi {
				nn := r[pos+2]
				if (n == 'r' && nn == 'e') || (n == 'v' && nn == 'e') || (n == 'l' && nn == 'l') {
					emit(pos, pos+3)
					pos += 3
					continue
				}
			}
		}
		p := pos
		if c == ' ' {
			p++
		}
		if f, ok := clsAt(p); ok {
			switch {
			case f&clsLetter != 0:
				for p < hi && cls[p]&clsLetter != 0 {
					p++
				}
				emit(start, p)
				pos = p
				continue
			case f&clsNumber != 0:
				for p < hi && cls[p]&clsNumber != 0 {
					p++
				}
				emit(start, p)
				pos = p
				continue
			case f&(clsSpace|clsLetter|clsNumber) == 0:
				for p < hi && cls[p]&(clsSpace|clsLetter|clsNumber) == 0 {
					p++
				}
				emit(start, p)
				pos = p
				continue
			}
		}
		nws := 0
		for pos+nws < hi && cls[pos+nws]&clsSpace != 0 {
			nws++
		}
		switch {
		case nws > 1 && pos+nws < hi: // \s+(?!\S)
			pos += nws - 1
		case nws > 0:
			pos += nws
		default:
			pos++
		}
		emit(start, pos)
	}
}

// splitLlama3 implements (group = 3, Llama 3) and (group = 1, Qwen2)
// (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,group}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
func splitLlama3(group int) splitter {
	return func(rt *runeText, lo, hi int, emit func(a, b int)) {
		r, cls := rt.r, rt.cls
		for pos := lo; pos < hi; {
			start := pos
			c := r[pos]
			f := cls[pos]
			if c == '\'' && pos+1 < hi {
				n := unicode.ToLower(r[pos+1])
				if n == 's' || n == 't' || n == 'm' || n == 'd' {
					emit(pos, pos+2)
					pos += 2
					continue
				}
				if pos+2 < hi {
					nn := unicode.ToLower(r[pos+2])
					if (n == 'r' && nn == 'e') || (n == 'v' && nn == 'e') || (n == 'l' && nn == 'l') {
						emit(pos, pos+3)
						pos += 3
						continue
					}
				}
			}
			// [^\r\n\p{L}\p{N}]?\p{L}+
			if !isCRLF(c) && f&clsNumber == 0 {
				if f&clsLetter != 0 || (pos+1 < hi && cls[pos+1]&clsLetter != 0) {
					pos++
					for pos < hi && cls[pos]&clsLetter != 0 {
						pos++
					}
					emit(start, pos)
					continue
				}
			}
			// \p{N}{1,group}
			if f&clsNumber != 0 {
				pos = digitGroups(rt, pos, hi, group, emit)
				continue
			}
			pos = symbolsOrSpaces(rt, pos, hi, false)
			emit(start, pos)
		}
	}
}

// digitGroups emits the run of digits at pos as pieces of at most group
// digits (\p{N}{1,group} repeated) and returns where the run ends.
func digitGroups(rt *runeText, pos, hi, group int, emit func(a, b int)) int {
	cls := rt.cls
	for pos < hi && cls[pos]&clsNumber != 0 {
		end := pos
		for end < hi && end-pos < group && cls[end]&clsNumber != 0 {
			end++
		}
		emit(pos, end)
		pos = end
	}
	return pos
}

// symbolsOrSpaces returns the end of the piece at pos that the llama3
// and gpt-4o patterns' last alternatives match: ` ?[^\s\p{L}\p{N}]+[\r\n]*`
// (gpt-4o: `[\r\n/]*`, with slash), else `\s*[\r\n]+`, `\s+(?!\S)` or
// `\s+`, else the one rune at pos.
func symbolsOrSpaces(rt *runeText, pos, hi int, slash bool) int {
	r, cls := rt.r, rt.cls
	p := pos
	if r[pos] == ' ' {
		p++
	}
	if p < hi && cls[p]&(clsSpace|clsLetter|clsNumber) == 0 {
		for p < hi && cls[p]&(clsSpace|clsLetter|clsNumber) == 0 {
			p++
		}
		for p < hi && (isCRLF(r[p]) || slash && r[p] == '/') {
			p++
		}
		return p
	}
	nws, lastNL := 0, 0
	for pos+nws < hi && cls[pos+nws]&clsSpace != 0 {
		if isCRLF(r[pos+nws]) {
			lastNL = pos + nws + 1
		}
		nws++
	}
	switch {
	case lastNL > 0: // \s*[\r\n]+
		return lastNL
	case nws > 1 && pos+nws < hi: // \s+(?!\S)
		return pos + nws - 1
	case nws > 0: // \s+
		return pos + nws
	default:
		return pos + 1
	}
}

// splitGPT4o implements llama.cpp's rewrite of the o200k regex (its
// LLAMA_VOCAB_PRE_TYPE_GPT4O, run on text whose non-ASCII letters count as
// both cases, since only A-Z and a-z have one):
//
//	[^\r\n\p{L}\p{N}]?U*W+C?|[^\r\n\p{L}\p{N}]?U+W*C?|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+
//
// where U is a letter but a-z, W a letter but A-Z, and C one of the
// contractions 's 't 're 've 'm 'll 'd in either case.
func splitGPT4o(rt *runeText, lo, hi int, emit func(a, b int)) {
	r, cls := rt.r, rt.cls
	letter := func(i int) bool { return i < hi && cls[i]&clsLetter != 0 }
	upper := func(i int) bool { return letter(i) && !(r[i] >= 'a' && r[i] <= 'z') }
	lower := func(i int) bool { return letter(i) && !(r[i] >= 'A' && r[i] <= 'Z') }
	contraction := func(i int) int {
		if i+1 >= hi || r[i] != '\'' {
			return 0
		}
		n := asciiLower(r[i+1])
		if n == 's' || n == 't' || n == 'm' || n == 'd' {
			return 2
		}
		if i+2 < hi {
			nn := asciiLower(r[i+2])
			if (n == 'r' && nn == 'e') || (n == 'v' && nn == 'e') || (n == 'l' && nn == 'l') {
				return 3
			}
		}
		return 0
	}
	for pos := lo; pos < hi; {
		start := pos
		c, f := r[pos], cls[pos]
		// The optional leading character, then the letters.
		p := pos
		if !isCRLF(c) && f&(clsLetter|clsNumber) == 0 && letter(pos+1) {
			p++
		}
		if letter(p) {
			// U*W+: the longest run of U whose end leaves a W to start W+
			// (backtracking gives back U's that are also W).
			u := p
			for upper(u) {
				u++
			}
			k := u
			for k > p && !lower(k) {
				k--
			}
			end := -1
			if lower(k) {
				end = k
				for lower(end) {
					end++
				}
			} else if u > p { // U+W*: W* is empty here
				end = u
			}
			if end >= 0 {
				end += contraction(end)
				emit(start, end)
				pos = end
				continue
			}
		}
		// \p{N}{1,3}
		if f&clsNumber != 0 {
			end := pos
			for end < hi && end-pos < 3 && cls[end]&clsNumber != 0 {
				end++
			}
			emit(pos, end)
			pos = end
			continue
		}
		pos = symbolsOrSpaces(rt, pos, hi, true)
		emit(start, pos)
	}
}

// asciiLower lowers A-Z only (the contractions' classes are [sS] and so on).
func asciiLower(r rune) rune {
	if r >= 'A' && r <= 'Z' {
		return r + 'a' - 'A'
	}
	return r
}

// runSplit returns a splitter that emits maximal runs of runes whose class
// has any of the bits in mask, and the gaps between them, as separate words
// (how llama.cpp applies a plain regex such as \p{N}+).
func runSplit(match func(rt *runeText, i int) bool) splitter {
	return func(rt *runeText, lo, hi int, emit func(a, b int)) {
		for pos := lo; pos < hi; {
			start := pos
			m := match(rt, pos)
			for pos < hi && match(rt, pos) == m {
				pos++
			}
			emit(start, pos)
		}
	}
}

var (
	splitPunctRuns = runSplit(func(rt *runeText, i int) bool { return rt.cls[i]&clsPunct != 0 })
	splitNumRuns   = runSplit(func(rt *runeText, i int) bool { return rt.cls[i]&clsNumber != 0 })
)

// splitDigits3 splits runs of ASCII digits into groups of three from the left
// (llama.cpp's [0-9][0-9][0-9] pass); other runes are emitted as gaps.
func splitDigits3(rt *runeText, lo, hi int, emit func(a, b int)) {
	isDigit := func(i int) bool { return rt.r[i] >= '0' && rt.r[i] <= '9' }
	gap := lo
	for pos := lo; pos < hi; {
		if pos+3 <= hi && isDigit(pos) && isDigit(pos+1) && isDigit(pos+2) {
			if gap < pos {
				emit(gap, pos)
			}
			emit(pos, pos+3)
			pos += 3
			gap = pos
			continue
		}
		pos++
	}
	if gap < hi {
		emit(gap, hi)
	}
}

// chain applies splitters in sequence: each word of one is split by the next.
func chain(ss ...splitter) splitter {
	if len(ss) == 1 {
		return ss[0]
	}
	first, rest := ss[0], chain(ss[1:]...)
	return func(rt *runeText, lo, hi int, emit func(a, b int)) {
		first(rt, lo, hi, func(a, b int) { rest(rt, a, b, emit) })
	}
}

func splitterFor(k preKind) splitter {
	switch k {
	case preGPT2:
		return splitGPT2
	case preLlama3:
		return splitLlama3(3)
	case preQwen2:
		return splitLlama3(1)
	case preGPT4o:
		return splitGPT4o
	case preDefault:
		return chain(splitPunctRuns, splitGPT2, splitNumRuns, splitDigits3)
	case preDeepseekLLM:
		return splitDeepseekLLM
	case preDeepseekCoder:
		return splitDeepseekCoder
	case preDeepseekV3:
		return splitDeepseekV3
	case preKimiK2:
		return splitKimiK2
	}
	return nil
}

// byteToRune is GPT-2's bytes_to_unicode table: printable bytes map to
// themselves, the others to U+0100 and up, in byte order.
var (
	byteToRune [256]rune
	runeToByte map[rune]byte
)

func init() {
	runeToByte = make(map[rune]byte, 256)
	next := rune(256)
	for b := 0; b < 256; b++ {
		if (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF) {
			byteToRune[b] = rune(b)
		} else {
			byteToRune[b] = next
			next++
		}
		runeToByte[byteToRune[b]] = byte(b)
	}
}
