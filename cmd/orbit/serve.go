package main

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/orbitswarm/orbit/api"
	"github.com/orbitswarm/orbit/engine/kernels"
	"github.com/orbitswarm/orbit/engine/speculate"
	"github.com/orbitswarm/orbit/metrics"
)

type serveFlags struct {
	model, tokenizer, id, listen, apiKey string
	threads, maxConcurrent, maxQueue     int
	corsOrigins                          []string
	spec                                 speculateFlags
}

func newServeCmd() *cobra.Command {
	var f serveFlags
	cmd := &cobra.Command{
		Use:   "serve --model FILE [--api 127.0.0.1:7717]",
		Short: "Serve a local model over the OpenAI-compatible API, the node API and the dashboard",
		Long: `Serve runs a whole model in this process and serves it over HTTP:
  /v1/models, /v1/completions, /v1/chat/completions   OpenAI-compatible API
  /api/v1/status, /api/v1/peers, /api/v1/models, /api/v1/route,
  /api/v1/history, /api/v1/kv                         node API
  /metrics                                            Prometheus metrics
  /                                                   dashboard and playground
The default address is 127.0.0.1:7717 (--api, as for orbit run; --listen is
an alias). Listening on any other than a loopback address needs an API key (--api-key, or the ORBIT_API_KEY environment
variable); clients then send "Authorization: Bearer KEY".`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return runServe(cmd, &f) },
	}
	fl := cmd.Flags()
	fl.StringVarP(&f.model, "model", "m", "", "model file: GGUF, or llama2.c .bin (needs --tokenizer); hf:ORG/REPO[:QUANT] pulls it from Hugging Face into the weight store ($ORBIT_DATA_DIR or ~/.orbit) first")
	fl.StringVar(&f.tokenizer, "tokenizer", "", "llama2.c tokenizer .bin, for a llama2.c model")
	fl.StringVar(&f.id, "id", "", "model name clients ask for (default: the file name without extension)")
	fl.StringVar(&f.listen, "api", api.DefaultAddr, "address of the HTTP API and dashboard (alias --listen)")
	// --listen, the flag's first name, stays an alias of --api, the name
	// orbit run uses (where --listen is the swarm's multiaddrs).
	fl.SetNormalizeFunc(func(_ *pflag.FlagSet, name string) pflag.NormalizedName {
		if name == "listen" {
			name = "api"
		}
		return pflag.NormalizedName(name)
	})
	fl.StringVar(&f.apiKey, "api-key", "", "API key required from clients (default $ORBIT_API_KEY)")
	fl.StringSliceVar(&f.corsOrigins, "cors-origin", nil, "web origins (scheme://host:port, or *) allowed to call the API from a browser; others are refused")
	fl.IntVar(&f.threads, "threads", 0, "compute threads (0: all cores)")
	fl.IntVar(&f.maxConcurrent, "max-concurrent", 4, "generations running at once")
	fl.IntVar(&f.maxQueue, "max-queue", 16, "generations waiting beyond those; more get HTTP 503")
	f.spec.add(fl)
	_ = cmd.MarkFlagRequired("model")
	return cmd
}

func runServe(cmd *cobra.Command, f *serveFlags) error {
	ctx := cmd.Context()
	key := f.apiKey
	if key == "" {
		key = os.Getenv("ORBIT_API_KEY")
	}
	if err := api.CheckListenAddr(f.listen, key); err != nil {
		return err
	}
	if f.maxQueue < 0 {
		return errors.New("--max-queue must not be negative")
	}
	mode, err := f.spec.parse()
	if err != nil {
		return err
	}
	pool := kernels.NewPool(f.threads)
	defer pool.Close()
	model, id := f.model, f.id
	if isHFModel(model) {
		var hfID string
		var err error
		if model, hfID, err = servePullHF(cmd, model); err != nil {
			return err
		}
		if id == "" {
			id = hfID
		}
	}
	lm, err := openModel(model, f.tokenizer, pool)
	if err != nil {
		return err
	}
	defer lm.Close()
	if id == "" {
		id = strings.TrimSuffix(filepath.Base(f.model), filepath.Ext(f.model))
	}
	draft, err := f.spec.openDraft(pool)
	if err != nil {
		return err
	}
	var dm *speculate.DraftModel
	if draft != nil {
		defer draft.Close()
		if err := draft.check(lm.tok, lm.model.Config.VocabSize); err != nil {
			return err
		}
		dm = draft.dm
	}
	name, _ := lm.file.String("general.name")
	mets := metrics.New()
	log := slog.Default()
	maxQueue := f.maxQueue
	if maxQueue == 0 {
		maxQueue = -1 // LocalOptions: negative means no queue
	}
	b, err := api.NewLocalBackend([]api.LocalModel{{ID: id, Name: name, Model: lm.model, Tokenizer: lm.tok}},
		api.LocalOptions{MaxConcurrent: f.maxConcurrent, MaxQueue: maxQueue, Version: version, Metrics: mets, Logger: log,
			Speculate: mode, Draft: dm})
	if err != nil {
		return err
	}
	srv := api.NewServer(b, api.Options{APIKey: key, Metrics: mets, Logger: log, CORSOrigins: f.corsOrigins})
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", f.listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "orbit: serving %s on http://%s (dashboard at /, OpenAI API at /v1)\n", id, ln.Addr())
	return srv.Serve(ctx, ln)
}
