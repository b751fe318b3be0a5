package main

import (
	"fmt"
	"io"
	"strconv"

	"github.com/dustin/go-humanize"
	"github.com/spf13/cobra"

	"github.com/orbitswarm/orbit/engine/gguf"
)

func newInfoCmd() *cobra.Command {
	var tensors bool
	cmd := &cobra.Command{
		Use:   "info FILE.gguf",
		Short: "Print a GGUF file's metadata and tensors",
		Long: `Print a GGUF file's metadata and tensors. A part of a model split into several
files (NAME-00001-of-00003.gguf) names the whole model: its metadata, every
part's tensors, and a line per part.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			f, err := gguf.Open(args[0])
			if err != nil {
				return err
			}
			defer f.Close()
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "GGUF v%d, %d metadata entries, %d tensors, alignment %d\n", f.Version, len(f.KV), len(f.Tensors), f.Alignment)
			for _, kv := range f.KV {
				v := kv.Value
				if v.Type == gguf.TypeArray {
					fmt.Fprintf(out, "  %-44s [%s x %d]\n", kv.Key, v.ArrayType, v.Len())
					continue
				}
				fmt.Fprintf(out, "  %-44s %s = %s\n", kv.Key, v.Type, infoValue(v.Any()))
			}
			var total uint64
			for i := range f.Tensors {
				t := &f.Tensors[i]
				total += t.Size
				if tensors {
					fmt.Fprintf(out, "  %-32s %-6s %v %d bytes\n", t.Name, t.Type, t.Dims, t.Size)
				}
			}
			fmt.Fprintf(out, "tensor data: %s\n", humanize.IBytes(uint64(total)))
			infoSplit(out, f)
			return nil
		},
	}
	cmd.Flags().BoolVar(&tensors, "tensors", false, "list every tensor")
	return cmd
}

// infoValue formats a metadata value: a string quoted (cut at 80
// characters), numbers and booleans as they are.
func infoValue(v any) string {
	s, ok := v.(string)
	if !ok {
		return fmt.Sprint(v)
	}
	if r := []rune(s); len(r) > 80 {
		s = string(r[:77]) + "..."
	}
	return strconv.Quote(s)
}

// infoSplit prints the parts of a split model, one line each.
func infoSplit(out io.Writer, f *gguf.File) {
	parts := f.Parts()
	if parts == nil {
		return
	}
	fmt.Fprintf(out, "split: %d parts\n", len(parts))
	for i, p := range parts {
		var bytes uint64
		for j := range p.Tensors {
			bytes += p.Tensors[j].Size
		}
		fmt.Fprintf(out, "  part %d: %d tensors, %s, %d metadata entries\n", i+1, len(p.Tensors), humanize.IBytes(bytes), len(p.KV))
	}
}
