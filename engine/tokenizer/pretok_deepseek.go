package tokenizer

import (
	"sort"
	"unicode"
)

// The DeepSeek pre-tokenizers are sequences of regexes, as llama.cpp applies
// them (llama-vocab.cpp, LLAMA_VOCAB_PRE_TYPE_DEEPSEEK_LLM, _DEEPSEEK_CODER
// and _DEEPSEEK3_LLM): each regex splits every word of the previous one
// into its matches and the gaps between them. Here each regex is a matcher
// that returns the end of the leftmost-first match at pos, or -1, and
// searchSplit turns it into a splitter. Kimi K2's is one scanner (llama.cpp's
// unicode_regex_split_custom_kimi_k2).

// matcher returns the end (> pos) of the regex's match at rune pos within
// [pos, hi), or -1 when the regex does not match there.
type matcher func(rt *runeText, pos, hi int) int

// searchSplit emits, in order, the matches of m found left to right and the
// runs of runes between them (how llama.cpp applies a regex to each word).
func searchSplit(m matcher) splitter {
	return func(rt *runeText, lo, hi int, emit func(a, b int)) {
		gap := lo
		for pos := lo; pos < hi; {
			end := m(rt, pos, hi)
			if end <= pos {
				pos++
				continue
			}
			if gap < pos {
				emit(gap, pos)
			}
			emit(pos, end)
			pos, gap = end, end
		}
		if gap < hi {
			emit(gap, hi)
		}
	}
}

// runMatcher matches `in+`, or with optSpace `\s?in+`.
func runMatcher(optSpace bool, in func(rt *runeText, i int) bool) matcher {
	return func(rt *runeText, pos, hi int) int {
		p := pos
		if optSpace && rt.cls[p]&clsSpace != 0 && p+1 < hi && in(rt, p+1) {
			p++
		}
		if !in(rt, p) {
			return -1
		}
		for p < hi && in(rt, p) {
			p++
		}
		return p
	}
}

// groupMatcher matches `in{1,n}`.
func groupMatcher(n int, in func(rt *runeText, i int) bool) matcher {
	return func(rt *runeText, pos, hi int) int {
		p := pos
		for p < hi && p-pos < n && in(rt, p) {
			p++
		}
		if p == pos {
			return -1
		}
		return p
	}
}

// splitTrailingSpace implements `\s+$`: the word's trailing whitespace.
func splitTrailingSpace(rt *runeText, lo, hi int, emit func(a, b int)) {
	k := hi
	for k > lo && rt.cls[k-1]&clsSpace != 0 {
		k--
	}
	if lo < k {
		emit(lo, k)
	}
	if k < hi {
		emit(k, hi)
	}
}

// Classes of the DeepSeek regexes. llama.cpp runs the regexes without
// \p{..} classes on code points whose non-ASCII whitespace became U+000B,
// so whitespace never matches a literal range there.

func isCRLFAt(rt *runeText, i int) bool   { return isCRLF(rt.r[i]) }
func isLetterAt(rt *runeText, i int) bool { return rt.cls[i]&clsLetter != 0 }
func isNumberAt(rt *runeText, i int) bool { return rt.cls[i]&clsNumber != 0 }
func isPunctAt(rt *runeText, i int) bool  { return rt.cls[i]&clsP != 0 }

// inRanges reports whether r lies in one of the sorted inclusive ranges.
func inRanges(ranges [][2]rune, r rune) bool {
	k := sort.Search(len(ranges), func(k int) bool { return ranges[k][1] >= r })
	return k < len(ranges) && ranges[k][0] <= r
}

// deepseekLetters is deepseek-llm's letter class: the cased scripts
// (Latin, Greek, Cyrillic, Armenian, Georgian, Cherokee, Glagolitic, Coptic,
// Deseret, Osage, Old Hungarian, Warang Citi, Adlam and their extensions).
var deepseekLetters = [][2]rune{
	{0x41, 0x5A}, {0x61, 0x7A}, {0xB5, 0xB5}, {0xC0, 0xD6}, {0xD8, 0xF6}, {0xF8, 0x1BA}, {0x1BC, 0x1BF},
	{0x1C4, 0x293}, {0x295, 0x2AF}, {0x370, 0x373}, {0x376, 0x377}, {0x37B, 0x37D}, {0x37F, 0x37F},
	{0x386, 0x386}, {0x388, 0x38A}, {0x38C, 0x38C}, {0x38E, 0x3A1}, {0x3A3, 0x3F5}, {0x3F7, 0x481},
	{0x48A, 0x52F}, {0x531, 0x556}, {0x10A0, 0x10C5}, {0x13A0, 0x13F5}, {0x13F8, 0x13FD},
	{0x1C90, 0x1CBA}, {0x1CBD, 0x1CBF}, {0x1D00, 0x1D2B}, {0x1D6B, 0x1D77}, {0x1D79, 0x1D9A},
	{0x1E00, 0x1F15}, {0x1F18, 0x1F1D}, {0x1F20, 0x1F45}, {0x1F48, 0x1F4D}, {0x1F50, 0x1F57},
	{0x1F59, 0x1F59}, {0x1F5B, 0x1F5B}, {0x1F5D, 0x1F5D}, {0x1F5F, 0x1F7D}, {0x1F80, 0x1FB4},
	{0x1FB6, 0x1FBC}, {0x1FBE, 0x1FBE}, {0x1FC2, 0x1FC4}, {0x1FC6, 0x1FCC}, {0x1FD0, 0x1FD3},
	{0x1FD6, 0x1FDB}, {0x1FE0, 0x1FEC}, {0x1FF2, 0x1FF4}, {0x1FF6, 0x1FFC}, {0x2102, 0x2102},
	{0x2107, 0x2107}, {0x210A, 0x2113}, {0x2115, 0x2115}, {0x2119, 0x211D}, {0x2124, 0x2124},
	{0x2126, 0x2126}, {0x2128, 0x2128}, {0x212A, 0x212D}, {0x212F, 0x2134}, {0x2139, 0x2139},
	{0x213C, 0x213F}, {0x2145, 0x2149}, {0x214E, 0x214E}, {0x2183, 0x2184}, {0x2C00, 0x2C7B},
	{0x2C7E, 0x2CE4}, {0x2CEB, 0x2CEE}, {0x2CF2, 0x2CF3}, {0xA640, 0xA66D}, {0xA680, 0xA69B},
	{0xA722, 0xA76F}, {0xA771, 0xA787}, {0xA78B, 0xA78E}, {0xAB70, 0xABBF}, {0xFB00, 0xFB06},
	{0xFB13, 0xFB17}, {0xFF21, 0xFF3A}, {0xFF41, 0xFF5A}, {0x10400, 0x1044F}, {0x104B0, 0x104D3},
	{0x104D8, 0x104FB}, {0x10C80, 0x10CB2}, {0x10CC0, 0x10CF2}, {0x118A0, 0x118DF}, {0x1E900, 0x1E943},
}

// deepseekPunct is deepseek-llm's [!-/:-~！-／：-～‘-‟　-。] (U+3000 is
// whitespace, so it never matches).
var deepseekPunct = [][2]rune{
	{0x21, 0x2F}, {0x3A, 0x7E}, {0x2018, 0x201F}, {0x3000, 0x3002}, {0xFF01, 0xFF0F}, {0xFF1A, 0xFF5E},
}

// deepseekCJK is [一-龥ࠀ-一가-퟿] (deepseek-llm and -coder).
var deepseekCJK = [][2]rune{{0x0800, 0x9FA5}, {0xAC00, 0xD7FF}}

// deepseekV3CJK is [一-龥぀-ゟ゠-ヿ]: Han, hiragana and katakana.
var deepseekV3CJK = [][2]rune{{0x3040, 0x30FF}, {0x4E00, 0x9FA5}}

func rangeClass(ranges [][2]rune) func(rt *runeText, i int) bool {
	return func(rt *runeText, i int) bool {
		return rt.cls[i]&clsSpace == 0 && inRanges(ranges, rt.r[i])
	}
}

var (
	// splitDeepseekLLM: [\r\n], \s?[letters]+, \s?[punctuation]+, \s+$,
	// [CJK]+, \p{N}+.
	splitDeepseekLLM = chain(
		searchSplit(groupMatcher(1, isCRLFAt)),
		searchSplit(runMatcher(true, rangeClass(deepseekLetters))),
		searchSplit(runMatcher(true, rangeClass(deepseekPunct))),
		splitTrailingSpace,
		searchSplit(runMatcher(false, rangeClass(deepseekCJK))),
		searchSplit(runMatcher(false, isNumberAt)),
	)
	// splitDeepseekCoder: [\r\n], \s?\p{L}+, \s?\p{P}+, [CJK]+, \p{N}.
	splitDeepseekCoder = chain(
		searchSplit(groupMatcher(1, isCRLFAt)),
		searchSplit(runMatcher(true, isLetterAt)),
		searchSplit(runMatcher(true, isPunctAt)),
		searchSplit(runMatcher(false, rangeClass(deepseekCJK))),
		searchSplit(groupMatcher(1, isNumberAt)),
	)
	// splitDeepseekV3: \p{N}{1,3}, [Han and kana]+, then deepseekV3Word.
	splitDeepseekV3 = chain(
		searchSplit(groupMatcher(3, isNumberAt)),
		searchSplit(runMatcher(false, rangeClass(deepseekV3CJK))),
		searchSplit(deepseekV3Word),
	)
)

func isASCIILetter(r rune) bool { return r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' }

// isASCIIPunct reports one of the 32 ASCII punctuation and symbol characters.
func isASCIIPunct(r rune) bool {
	return r >= '!' && r <= '/' || r >= ':' && r <= '@' || r >= '[' && r <= '`' || r >= '{' && r <= '~'
}

// deepseekV3Word matches DeepSeek-V3's third regex at pos:
//
//	[!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~][A-Za-z]+|[^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+| ?[\p{P}\p{S}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
func deepseekV3Word(rt *runeText, pos, hi int) int {
	r, cls := rt.r, rt.cls
	c, f := r[pos], cls[pos]
	if isASCIIPunct(c) && pos+1 < hi && isASCIILetter(r[pos+1]) {
		p := pos + 1
		for p < hi && isASCIILetter(r[p]) {
			p++
		}
		return p
	}
	lm := func(i int) bool { return i < hi && cls[i]&(clsLetter|clsM) != 0 }
	p := pos
	if !isCRLF(c) && f&(clsLetter|clsP|clsS) == 0 && lm(pos+1) {
		p++
	}
	if lm(p) {
		for lm(p) {
			p++
		}
		return p
	}
	ps := func(i int) bool { return i < hi && cls[i]&(clsP|clsS) != 0 }
	p = pos
	if c == ' ' && ps(pos+1) {
		p++
	}
	if ps(p) {
		for ps(p) {
			p++
		}
		for p < hi && isCRLF(r[p]) {
			p++
		}
		return p
	}
	return spaceRun(rt, pos, hi)
}

// spaceRun matches `\s*[\r\n]+|\s+(?!\S)|\s+` at pos, or returns -1.
func spaceRun(rt *runeText, pos, hi int) int {
	n, lastNL := 0, -1
	for pos+n < hi && rt.cls[pos+n]&clsSpace != 0 {
		if isCRLF(rt.r[pos+n]) {
			lastNL = pos + n + 1
		}
		n++
	}
	switch {
	case lastNL > 0:
		return lastNL
	case n > 1 && pos+n < hi:
		return pos + n - 1
	case n > 0:
		return pos + n
	}
	return -1
}

// isHan is llama.cpp's Han test for Kimi K2 (CJK unified ideographs,
// extensions A-F and the compatibility ideographs).
func isHan(r rune) bool {
	return r >= 0x4E00 && r <= 0x9FFF || r >= 0x3400 && r <= 0x4DBF || r >= 0x20000 && r <= 0x2A6DF ||
		r >= 0x2A700 && r <= 0x2EBEF || r >= 0xF900 && r <= 0xFAFF || r >= 0x2F800 && r <= 0x2FA1F
}

// splitKimiK2 implements Kimi K2's pre-tokenizer as llama.cpp runs it:
//
//	\p{Han}+|[^\r\n\p{L}\p{N}]?[\p{L}--\p{Han}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
//
// (tiktoken's pattern separates upper- from lowercase runs, with marks;
// llama.cpp's scanner takes any run of letters but Han, without marks).
func splitKimiK2(rt *runeText, lo, hi int, emit func(a, b int)) {
	r, cls := rt.r, rt.cls
	han := func(i int) bool { return i < hi && isHan(r[i]) }
	word := func(i int) bool { return i < hi && cls[i]&clsLetter != 0 && !isHan(r[i]) }
	for pos := lo; pos < hi; {
		start := pos
		c, f := r[pos], cls[pos]
		if han(pos) {
			for han(pos) {
				pos++
			}
			emit(start, pos)
			continue
		}
		p := pos
		if !isCRLF(c) && f&(clsLetter|clsNumber) == 0 && word(pos+1) {
			p++
		}
		if word(p) {
			for word(p) {
				p++
			}
			if p+1 < hi && r[p] == '\'' {
				n := unicode.ToLower(r[p+1])
				if n == 's' || n == 't' || n == 'm' || n == 'd' {
					p += 2
				} else if p+2 < hi {
					nn := unicode.ToLower(r[p+2])
					if (n == 'r' && nn == 'e') || (n == 'v' && nn == 'e') || (n == 'l' && nn == 'l') {
						p += 3
					}
				}
			}
			emit(start, p)
			pos = p
			continue
		}
		if f&clsNumber != 0 {
			pos = digitGroups(rt, pos, hi, 3, emit)
			continue
		}
		pos = symbolsOrSpaces(rt, pos, hi, false)
		emit(start, pos)
	}
}
