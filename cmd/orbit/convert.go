package main

import (
	"bytes"
	"fmt"
	"log/slog"
	"os"

	"github.com/spf13/cobra"

	"github.com/orbitswarm/orbit/engine/gguf"
	"github.com/orbitswarm/orbit/engine/kernels"
	"github.com/orbitswarm/orbit/engine/llama2c"
	"github.com/orbitswarm/orbit/engine/tokenizer"
)

func newConvertCmd() *cobra.Command {
	var typ, tok string
	cmd := &cobra.Command{
		Use:   "convert MODEL.bin TOKENIZER.bin OUT.gguf",
		Short: "Convert a llama2.c model and tokenizer to GGUF",
		Long: "Converts a llama2.c checkpoint and its tokenizer to GGUF. The tokenizer may also be\n" +
			"given as --tokenizer FILE (convert MODEL.bin --tokenizer TOKENIZER.bin OUT.gguf), as\n" +
			"orbit import takes it either way.",
		Args: func(cmd *cobra.Command, args []string) error {
			if tok != "" {
				if len(args) == 3 {
					return fmt.Errorf("the tokenizer is given twice (%s and --tokenizer %s)", args[1], tok)
				}
				return cobra.ExactArgs(2)(cmd, args)
			}
			return cobra.ExactArgs(3)(cmd, args)
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if tok != "" {
				return convertLlama2C(args[0], tok, args[1], typ)
			}
			return convertLlama2C(args[0], args[1], args[2], typ)
		},
	}
	cmd.Flags().StringVar(&typ, "type", "f32", "weight type of the matrices: f32, f16, bf16, q8_0, q4_0, q4_k, q6_k")
	cmd.Flags().StringVar(&tok, "tokenizer", "", "the llama2.c tokenizer (instead of the TOKENIZER.bin argument)")
	return cmd
}

// isGGUF reports whether the file starts with the GGUF magic.
func isGGUF(path string) (bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return false, err
	}
	defer f.Close()
	var magic [4]byte
	if _, err := f.Read(magic[:]); err != nil {
		return false, fmt.Errorf("reading %s: %w", path, err)
	}
	return string(magic[:]) == gguf.Magic, nil
}

// openAnyModel opens a GGUF file, or converts a llama2.c model in memory.
func openAnyModel(path, tokPath string) (*gguf.File, error) {
	ok, err := isGGUF(path)
	if err != nil {
		return nil, err
	}
	if ok {
		if tokPath != "" {
			return nil, fmt.Errorf("--tokenizer is only for llama2.c models; %s is a GGUF with its own", path)
		}
		return gguf.Open(path)
	}
	if tokPath == "" {
		return nil, fmt.Errorf("%s is not a GGUF file; a llama2.c model needs --tokenizer", path)
	}
	m, err := llama2c.Open(path)
	if err != nil {
		return nil, err
	}
	defer m.Close()
	vocab, err := tokenizer.LoadLlama2C(tokPath, m.VocabSize)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := llama2c.Write(&buf, m, vocab, llama2c.Options{Name: llama2c.ModelName(path), Type: kernels.F32}); err != nil {
		return nil, err
	}
	return gguf.Parse(buf.Bytes())
}

func convertLlama2C(model, tok, out, typ string) error {
	dt, err := kernels.ParseDType(typ)
	if err != nil {
		return err
	}
	logf := func(format string, args ...any) { slog.Info(fmt.Sprintf(format, args...)) }
	return llama2c.Convert(model, tok, out, llama2c.Options{Type: dt, Logf: logf})
}
