package protocol

import (
	"encoding"
	"fmt"
	"testing"
)

// textEnum is an enum with a text form: its String, Parse and text
// marshalling agree.
type textEnum interface {
	fmt.Stringer
	encoding.TextMarshaler
}

func checkText[T textEnum, P interface {
	*T
	encoding.TextUnmarshaler
}](t *testing.T, parse func(string) (T, error), all []T, bad ...string) {
	t.Helper()
	for _, v := range all {
		b, err := v.MarshalText()
		var back T
		if err != nil || string(b) != v.String() || P(&back).UnmarshalText(b) != nil || back.String() != v.String() {
			t.Errorf("%v: MarshalText %q, %v; read back as %v", v, b, err, back)
		}
		if p, err := parse(v.String()); err != nil || p.String() != v.String() {
			t.Errorf("parse(%q) = %v, %v", v.String(), p, err)
		}
	}
	for _, s := range bad {
		keep := all[0]
		if err := P(&keep).UnmarshalText([]byte(s)); err == nil || keep.String() != all[0].String() {
			t.Errorf("UnmarshalText(%q) = %v, left %v", s, err, keep)
		}
	}
}

func TestEnumText(t *testing.T) {
	checkText(t, ParseEncoding, []Encoding{EncodingF32, EncodingF16, EncodingQ8_0}, "", "F16", "bf16", "encoding(0)")
	checkText(t, ParseBlockStatus, []BlockStatus{BlockOK, BlockNotFound, BlockUnavailable}, "", "OK", "status(3)")
	checkText(t, ParseErrorCode, []ErrorCode{CodeInternal, CodeBadRequest, CodeUnknownModel, CodeCacheFull, CodeShuttingDown, CodeBadPush, CodeIdle},
		"", "cache_full", "INFER_ERROR_CODE_IDLE")
}

func FuzzParseEnums(f *testing.F) {
	for _, s := range []string{"f16", "q8_0", "not found", "CACHE_FULL", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if e, err := ParseEncoding(s); err == nil && e.String() != s {
			t.Errorf("ParseEncoding(%q) = %v", s, e)
		}
		if b, err := ParseBlockStatus(s); err == nil && b.String() != s {
			t.Errorf("ParseBlockStatus(%q) = %v", s, b)
		}
		if c, err := ParseErrorCode(s); err == nil && c.String() != s {
			t.Errorf("ParseErrorCode(%q) = %v", s, c)
		}
	})
}
