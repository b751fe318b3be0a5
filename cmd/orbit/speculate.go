package main

import (
	"errors"
	"fmt"

	"github.com/spf13/pflag"

	"github.com/orbitswarm/orbit/engine/kernels"
	"github.com/orbitswarm/orbit/engine/speculate"
	"github.com/orbitswarm/orbit/engine/tokenizer"
)

// speculateFlags are --speculate and --draft of orbit run and orbit serve.
type speculateFlags struct {
	mode, draft string
}

func (f *speculateFlags) add(fl *pflag.FlagSet) {
	fl.StringVar(&f.mode, "speculate", "auto", "speculative decoding: auto (where it pays: greedy requests, long round trips, drafts often kept), off, ngram (drafts by prompt lookup) or draft (drafts with --draft)")
	fl.StringVar(&f.draft, "draft", "", "draft model for speculative decoding: a small GGUF with the model's vocabulary, run whole by this node")
}

// parse checks the flags; no mode at all is the default, auto.
func (f *speculateFlags) parse() (speculate.Mode, error) {
	if f.mode == "" {
		return speculate.Auto, nil
	}
	m, err := speculate.ParseMode(f.mode)
	if err != nil {
		return m, fmt.Errorf("--speculate: %w", err)
	}
	if m == speculate.Draft && f.draft == "" {
		return m, errors.New("--speculate draft needs a draft model (--draft FILE.gguf)")
	}
	return m, nil
}

// draftModel is a loaded --draft.
type draftModel struct {
	*loadedModel
	dm *speculate.DraftModel
}

// openDraft loads --draft (nil without one).
func (f *speculateFlags) openDraft(pool *kernels.Pool) (*draftModel, error) {
	if f.draft == "" {
		return nil, nil
	}
	lm, err := openModel(f.draft, "", pool)
	if err != nil {
		return nil, fmt.Errorf("--draft: %w", err)
	}
	return &draftModel{loadedModel: lm, dm: &speculate.DraftModel{Model: lm.model}}, nil
}

// check refuses a draft model whose vocabulary is not the model's.
func (d *draftModel) check(target *tokenizer.Tokenizer, targetVocab int) error {
	if err := speculate.CheckVocab(d.tok, target, d.model.Config.VocabSize, targetVocab); err != nil {
		return fmt.Errorf("--draft: %w", err)
	}
	return nil
}
