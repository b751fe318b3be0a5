// Package sysmem reads how much memory the machine has free for a node's
// weights: the kernel's MemAvailable, and the default budget orbit run
// chooses a span within.
package sysmem

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// ErrNoMemAvailable: the text has no MemAvailable line.
var ErrNoMemAvailable = errors.New("sysmem: no MemAvailable in meminfo")

// ParseMemAvailable reads the MemAvailable line of /proc/meminfo text
// ("MemAvailable:   123456 kB") as bytes.
func ParseMemAvailable(r io.Reader) (int64, error) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "MemAvailable:")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) != 2 || f[1] != "kB" {
			return 0, fmt.Errorf("sysmem: MemAvailable line %q", sc.Text())
		}
		kb, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil || kb < 0 || kb > 1<<53 {
			return 0, fmt.Errorf("sysmem: MemAvailable %q", f[0])
		}
		return kb << 10, nil
	}
	if err := sc.Err(); err != nil {
		return 0, fmt.Errorf("sysmem: meminfo: %w", err)
	}
	return 0, ErrNoMemAvailable
}

// Available is the memory the kernel reports available (MemAvailable of
// /proc/meminfo), in bytes.
func Available() (int64, error) {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0, fmt.Errorf("sysmem: %w", err)
	}
	defer f.Close()
	return ParseMemAvailable(f)
}

// Budget is the share of available bytes a node's weights may take by
// default: 60%.
func Budget(available int64) int64 { return available * 6 / 10 }

// DefaultBudget is Budget of Available, or 0 (no cap) when the available
// memory cannot be read.
func DefaultBudget() int64 {
	a, err := Available()
	if err != nil {
		return 0
	}
	return Budget(a)
}
