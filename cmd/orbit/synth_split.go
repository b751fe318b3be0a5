package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/orbitswarm/orbit/engine/gguf"
	"github.com/orbitswarm/orbit/engine/synth"
)

// synthSplit writes the synthetic model opt as count parts named after out
// (gguf.SplitPrefix): the whole file first, in a temporary file beside
// them, then cut as gguf-split cuts it.
func synthSplit(cmd *cobra.Command, out string, count int, opt synth.Options) error {
	tmp, err := os.CreateTemp(filepath.Dir(out), "."+filepath.Base(out)+".whole*")
	if err != nil {
		return err
	}
	tmp.Close()
	defer os.Remove(tmp.Name())
	if err := synth.WriteFile(tmp.Name(), opt); err != nil {
		return err
	}
	f, err := gguf.OpenPart(tmp.Name())
	if err != nil {
		return err
	}
	defer f.Close()
	paths, err := gguf.WriteSplit(f, gguf.SplitPrefix(out), count)
	if err != nil {
		return err
	}
	for _, p := range paths {
		fmt.Fprintln(cmd.OutOrStdout(), p)
	}
	return nil
}
