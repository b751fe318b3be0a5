package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/orbitswarm/orbit/api"
	"github.com/orbitswarm/orbit/api/client"
)

// apiFlags are the flags of the commands that talk to a running node.
type apiFlags struct {
	addr, key string
	json      bool
}

func (f *apiFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.addr, "api", client.DefaultURL, "address of the node API (URL, or HOST:PORT for http)")
	fl.StringVar(&f.key, "api-key", "", "API key of the node (default $ORBIT_API_KEY)")
	fl.BoolVar(&f.json, "json", false, "print JSON (for scripts)")
}

// url is the node's base URL: --api, with http:// added to a bare
// HOST:PORT (the form `orbit run --api` and `orbit serve --listen` take).
func (f *apiFlags) url() string {
	if f.addr != "" && !strings.Contains(f.addr, "://") {
		return "http://" + f.addr
	}
	return f.addr
}

func (f *apiFlags) client() (*client.Client, error) {
	key := f.key
	if key == "" {
		key = os.Getenv("ORBIT_API_KEY")
	}
	return client.New(f.url(), client.WithAPIKey(key))
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// newStatusCmds returns `orbit status` and `orbit peers`.
func newStatusCmds() []*cobra.Command {
	var sf, pf apiFlags
	status := &cobra.Command{
		Use:   "status",
		Short: "Show the status of a running node (orbit serve / orbit run)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := sf.client()
			if err != nil {
				return err
			}
			st, err := c.Status(cmd.Context())
			if err != nil {
				return err
			}
			if sf.json {
				return printJSON(cmd.OutOrStdout(), st)
			}
			writeStatus(cmd.OutOrStdout(), st)
			return nil
		},
	}
	sf.register(status)
	peers := &cobra.Command{
		Use:   "peers",
		Short: "List the peers a running node knows, with their spans",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := pf.client()
			if err != nil {
				return err
			}
			ps, err := c.Peers(cmd.Context())
			if err != nil {
				return err
			}
			if pf.json {
				return printJSON(cmd.OutOrStdout(), ps)
			}
			return writePeers(cmd.OutOrStdout(), ps)
		},
	}
	pf.register(peers)
	return []*cobra.Command{status, peers}
}

func spansText(spans []api.Span) string {
	if len(spans) == 0 {
		return "-"
	}
	parts := make([]string, len(spans))
	for i, s := range spans {
		parts[i] = s.String()
	}
	return strings.Join(parts, " ")
}

func writeStatus(w io.Writer, st api.NodeStatus) {
	up := time.Duration(st.UptimeSeconds * float64(time.Second)).Round(time.Second)
	fmt.Fprintf(w, "peer:      %s\nversion:   %s\nuptime:    %v\nspans:     %s\n", st.PeerID, st.Version, up, spansText(st.Spans))
	fmt.Fprintf(w, "load:      %d running, %d queued (of %d slots, queue %d)\n", st.Load.Active, st.Load.Queued, st.Load.MaxConcurrent, st.Load.MaxQueue)
	fmt.Fprintf(w, "requests:  %d\ntokens:    %d generated, %d prompt\npeers:     %d\n", st.Requests, st.TokensGenerated, st.PromptTokens, st.Peers)
	// Transfers in progress first, then the ended ones.
	var lines []string
	for _, running := range []bool{true, false} {
		for _, t := range st.Transfers {
			if t.Running() == running {
				lines = append(lines, transferLine(t))
			}
		}
	}
	for i, l := range lines {
		head := "weights:  "
		if i > 0 {
			head = "          "
		}
		fmt.Fprintf(w, "%s %s\n", head, l)
	}
}

func writePeers(w io.Writer, ps []api.PeerInfo) error {
	if len(ps) == 0 {
		fmt.Fprintln(w, "no peers")
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PEER\tSPANS\tTOKENS/S\tRTT\tADDRS")
	for _, p := range ps {
		fmt.Fprintf(tw, "%s\t%s\t%.1f\t%.1f ms\t%s\n", p.ID, spansText(p.Spans), p.Throughput, p.RTTMillis, strings.Join(p.Addrs, ","))
	}
	return tw.Flush()
}
