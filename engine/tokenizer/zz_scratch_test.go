package tokenizer

import (
	"fmt"
	"strings"
	"testing"
)

func TestZZCross(t *testing.T) {
	for _, name := range []string{"llama-spm", "phi-3"} {
		tok := loadTok(t, name)
		x := map[string]int{}
		for s := range tok.pieces {
			rs := []rune(s)
			for i := 1; i < len(rs); i++ {
				if rs[i] == '▁' {
					x[string(rs[i-1])]++
				}
			}
		}
		fmt.Println(name, len(x), x)
		n := 0
		for s := range tok.pieces {
			if strings.Contains(s[1:], "▁") && n < 20 {
				n++
				fmt.Printf("%q ", s)
			}
		}
		fmt.Println()
	}
}
