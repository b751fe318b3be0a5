package sharding

import "testing"

func TestModeText(t *testing.T) {
	for _, m := range []Mode{MinLatency, MaxThroughput} {
		b, err := m.MarshalText()
		var back Mode = 7
		if err != nil || back.UnmarshalText(b) != nil || back != m {
			t.Errorf("%v: MarshalText %q, %v; read back as %v", m, b, err, back)
		}
		if p, err := ParseMode(m.String()); err != nil || p != m {
			t.Errorf("ParseMode(%q) = %v, %v", m.String(), p, err)
		}
	}
	m := MaxThroughput
	for _, bad := range []string{"", "fastest", "Latency", "Mode(2)"} {
		if err := m.UnmarshalText([]byte(bad)); err == nil || m != MaxThroughput {
			t.Errorf("UnmarshalText(%q) = %v, left %v", bad, err, m)
		}
	}
}

func FuzzParseMode(f *testing.F) {
	f.Add("latency")
	f.Add("throughput")
	f.Add("x")
	f.Fuzz(func(t *testing.T, s string) {
		if m, err := ParseMode(s); err == nil && m.String() != s {
			t.Fatalf("ParseMode(%q) = %v", s, m)
		}
	})
}
