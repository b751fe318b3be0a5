// Command orbit is the single binary of the Orbit swarm: it runs models
// locally (generate), converts and synthesizes model files (convert, synth),
// and inspects them (info).
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := newRootCmd(os.Stdout, os.Stderr).ExecuteContext(ctx)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "orbit:", err)
		os.Exit(1)
	}
}

func newRootCmd(stdout, stderr io.Writer) *cobra.Command {
	var verbose bool
	root := &cobra.Command{
		Use:           "orbit",
		Short:         "Run large language models across a swarm of CPU machines",
		Version:       version,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			if cmd.Name() != "config" {
				if _, err := applyConfig(cmd); err != nil {
					return err
				}
			}
			level := slog.LevelWarn
			if verbose {
				level = slog.LevelDebug
			}
			slog.SetDefault(slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level})))
			return nil
		},
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.PersistentFlags().BoolVarP(&verbose, "verbose", "v", false, "print timings and debug logs to stderr")
	root.AddCommand(newGenerateCmd(), newConvertCmd(), newSynthCmd(), newInfoCmd(), newConfigCmd())
	root.AddCommand(newWeightsCmds()...)
	root.AddCommand(newPullCmd())
	root.AddCommand(newServeCmd())
	root.AddCommand(newStatusCmds()...)
	root.AddCommand(newSimCmd())
	root.AddCommand(newBenchCmd())
	root.AddCommand(newBenchEngineCmd())
	root.AddCommand(newRunCmd())
	return root
}
