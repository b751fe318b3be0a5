package main

import (
	"strings"

	"github.com/spf13/cobra"

	"github.com/orbitswarm/orbit/engine/gguf"
	"github.com/orbitswarm/orbit/engine/synth"
	"github.com/orbitswarm/orbit/engine/tokenizer"
)

func newSynthCmd() *cobra.Command {
	var shape, typ, vocabPath, out string
	var seed uint64
	var layers, split int
	names := []string{}
	for _, s := range synth.Shapes() {
		names = append(names, s.Name)
	}
	cmd := &cobra.Command{
		Use:   "synth --shape SHAPE --type TYPE [--vocab VOCAB.gguf] -o OUT.gguf",
		Short: "Write a random-weight model of a real shape with a real vocabulary",
		Long: "Writes a random-weight model of a real shape, deterministic by seed, with the tokenizer of\n" +
			"VOCAB.gguf; without --vocab, with a small SentencePiece vocabulary orbit generates itself\n" +
			"(380 tokens: byte fallback, printable ASCII, a word-initial piece per letter), so that no\n" +
			"file from elsewhere is needed.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			sh, err := synth.ShapeByName(shape)
			if err != nil {
				return err
			}
			dt, mixed, err := synth.ParseType(typ)
			if err != nil {
				return err
			}
			vocab := tokenizer.GeneratedSPM()
			if vocabPath != "" {
				vf, err := gguf.Open(vocabPath)
				if err != nil {
					return err
				}
				defer vf.Close()
				if vocab, err = tokenizer.VocabFromGGUF(vf); err != nil {
					return err
				}
			}
			opt := synth.Options{Shape: sh, Type: dt, Mixed: mixed, Vocab: vocab, Seed: seed, Layers: layers}
			if split > 1 {
				return synthSplit(cmd, out, split, opt)
			}
			return synth.WriteFile(out, opt)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&shape, "shape", "tiny", "model shape: "+strings.Join(names, ", "))
	fl.StringVar(&typ, "type", "q8_0", "weight type: "+strings.Join(synth.TypeNames(), ", ")+
		" (q4_k_m, q5_k_m, q3_k_m: mixes with more bits where llama.cpp's recipes put them; k-quants need rows of whole 256-element blocks, others fall back to q8_0)")
	fl.StringVar(&vocabPath, "vocab", "", "GGUF file whose tokenizer to use (default: a small vocabulary orbit generates)")
	fl.StringVarP(&out, "output", "o", "", "output GGUF path")
	fl.Uint64Var(&seed, "seed", 1, "random seed of the weights")
	fl.IntVar(&layers, "layers", 0, "override the number of blocks (0: the shape's)")
	fl.IntVar(&split, "split", 0, "write the model as N files as gguf-split does (OUT without .gguf, then -00001-of-0000N.gguf)")
	_ = cmd.MarkFlagRequired("output")
	return cmd
}
