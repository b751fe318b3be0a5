package enginebench

import (
	"bufio"
	"os"
	"runtime"
	"strings"

	"golang.org/x/sys/cpu"

	"github.com/orbitswarm/orbit/engine/kernels"
)

// Machine describes the computer a measurement ran on.
type Machine struct {
	CPU     string   `json:"cpu"`     // model name, "" when unknown
	Flags   []string `json:"flags"`   // the vector and matrix extensions that matter here
	CPUs    int      `json:"cpus"`    // logical CPUs
	OS      string   `json:"os"`      // GOOS/GOARCH
	Kernels []string `json:"kernels"` // kernel sets this CPU runs, slowest first
	Default string   `json:"default"` // the set the engine picks (ORBIT_KERNELS or the best)
	Go      string   `json:"go"`      // the Go release that built the binary
}

// ThisMachine describes the computer it runs on.
func ThisMachine() Machine {
	m := Machine{CPU: cpuModel(), CPUs: runtime.NumCPU(), OS: runtime.GOOS + "/" + runtime.GOARCH,
		Default: kernels.Active().String(), Go: runtime.Version()}
	for _, i := range kernels.Available() {
		m.Kernels = append(m.Kernels, i.String())
	}
	for _, f := range []struct {
		name string
		has  bool
	}{
		{"avx2", cpu.X86.HasAVX2}, {"fma", cpu.X86.HasFMA}, {"avx512f", cpu.X86.HasAVX512F},
		{"avx512bw", cpu.X86.HasAVX512BW}, {"avx512vnni", cpu.X86.HasAVX512VNNI}, {"avx512bf16", cpu.X86.HasAVX512BF16},
		{"avxvnni", cpu.X86.HasAVXVNNI}, {"amx-int8", cpu.X86.HasAMXInt8},
		{"asimd", cpu.ARM64.HasASIMD}, {"asimddp", cpu.ARM64.HasASIMDDP}, {"i8mm", cpu.ARM64.HasI8MM}, {"sve", cpu.ARM64.HasSVE},
	} {
		if f.has {
			m.Flags = append(m.Flags, f.name)
		}
	}
	return m
}

// cpuModel is the first "model name" of /proc/cpuinfo (Linux on x86), or
// "" where there is none.
func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}
