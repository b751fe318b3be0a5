package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	neturl "net/url"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/dustin/go-humanize"
	"github.com/ipfs/go-cid"
	"github.com/spf13/cobra"

	"github.com/orbitswarm/orbit/api"
	"github.com/orbitswarm/orbit/api/client"
	"github.com/orbitswarm/orbit/weights"
)

// `orbit models` lists the weight store's models and, when the node API
// answers, the models the running node serves with the swarm's per-block
// coverage, merged by root CID (a node names a model by its root CID).

// modelsReport is the document `orbit models --json` prints. Its field
// names are part of the CLI's interface (see the command's help).
type modelsReport struct {
	// DataDir is the weight store's directory; empty with --node-only.
	DataDir string `json:"data_dir,omitempty"`
	// Store lists the store's models, sorted by name; null with
	// --node-only.
	Store []storeModel `json:"store"`
	// Node is what the node API answered; null with --store-only.
	Node *nodeReport `json:"node"`
}

// storeModel is one named model of the weight store.
type storeModel struct {
	Name string `json:"name"`
	CID  string `json:"cid"`
	// HaveRoot is false when only the name is stored, not the root
	// manifest: the fields below are then zero.
	HaveRoot     bool   `json:"have_root"`
	Architecture string `json:"architecture"`
	Bytes        uint64 `json:"bytes"` // tensor bytes of the whole model
	Layers       int    `json:"layers"`
	// LocalBlocks are the indexes of the blocks stored whole.
	LocalBlocks []int `json:"local_blocks"`
	Embed       bool  `json:"embed"`
	Head        bool  `json:"head"`
	Complete    bool  `json:"complete"` // every block, embedding and head stored
	// Served says whether the node lists this CID; absent when the node
	// was not asked or did not answer.
	Served *bool `json:"served,omitempty"`
}

// nodeReport is what the node API answered.
type nodeReport struct {
	API     string `json:"api"`
	Running bool   `json:"running"`
	// Error says why the node did not answer (Running false).
	Error  string      `json:"error,omitempty"`
	PeerID string      `json:"peer_id,omitempty"`
	Models []nodeModel `json:"models"`
}

// nodeModel is a model the node serves or generates with.
type nodeModel struct {
	// ID is the model's ID: the root CID for `orbit run`, the --id for
	// `orbit serve`.
	ID            string `json:"id"`
	Name          string `json:"name,omitempty"`
	Blocks        int    `json:"blocks"`
	ContextLength int    `json:"context_length"`
	// Entry: the node generates with the model (/api/v1/models lists it).
	Entry bool `json:"entry"`
	// Spans are the blocks [start, end) this node serves; empty for an
	// entry-only node.
	Spans []blockRange `json:"spans"`
	// Servers[i] is how many peers (this node included) serve block i,
	// as the node sees the swarm; empty when unknown (not an entry).
	Servers []int `json:"servers"`
	// Gaps are the ranges [start, end) of blocks no peer serves.
	Gaps []blockRange `json:"gaps"`
	// InStore says whether the weight store has a model of this CID;
	// absent with --node-only.
	InStore *bool `json:"in_store,omitempty"`
}

// blockRange is the half-open range of blocks [Start, End).
type blockRange struct {
	Start int `json:"start"`
	End   int `json:"end"`
}

// blockRuns returns the maximal runs of the blocks 0..n-1 for which in
// holds.
func blockRuns(n int, in func(i int) bool) []blockRange {
	out := []blockRange{}
	for i := 0; i < n; {
		if !in(i) {
			i++
			continue
		}
		j := i + 1
		for j < n && in(j) {
			j++
		}
		out = append(out, blockRange{i, j})
		i = j
	}
	return out
}

// rangesText renders ranges with inclusive ends: "0-3,6"; "none" when
// empty.
func rangesText(rs []blockRange) string {
	if len(rs) == 0 {
		return "none"
	}
	parts := make([]string, len(rs))
	for i, r := range rs {
		if r.End-r.Start == 1 {
			parts[i] = strconv.Itoa(r.Start)
		} else {
			parts[i] = fmt.Sprintf("%d-%d", r.Start, r.End-1)
		}
	}
	return strings.Join(parts, ",")
}

// weightsSpans renders the set blocks as ranges: "0-3,6".
func weightsSpans(local []bool) string {
	return rangesText(blockRuns(len(local), func(i int) bool { return local[i] }))
}

// swarmText summarizes per-block server counts: "blocks 0-15: 2-3
// servers each", with "; gap at 12-15" for blocks nobody serves.
func swarmText(servers []int) string {
	if len(servers) == 0 {
		return "unknown"
	}
	covered := blockRuns(len(servers), func(i int) bool { return servers[i] > 0 })
	gaps := blockRuns(len(servers), func(i int) bool { return servers[i] <= 0 })
	var parts []string
	if len(covered) > 0 {
		lo, hi, n := 0, 0, 0
		for _, v := range servers {
			if v <= 0 {
				continue
			}
			if n == 0 || v < lo {
				lo = v
			}
			hi = max(hi, v)
			n++
		}
		count := strconv.Itoa(lo)
		if hi != lo {
			count += "-" + strconv.Itoa(hi)
		}
		unit := "servers"
		if hi == 1 {
			unit = "server"
		}
		if n == 1 {
			parts = append(parts, fmt.Sprintf("block %s: %s %s", rangesText(covered), count, unit))
		} else {
			parts = append(parts, fmt.Sprintf("blocks %s: %s %s each", rangesText(covered), count, unit))
		}
	}
	if len(gaps) > 0 {
		word := "gap"
		if len(gaps) > 1 {
			word = "gaps"
		}
		parts = append(parts, word+" at "+rangesText(gaps))
	}
	return strings.Join(parts, "; ")
}

// storeModels converts the store's listing.
func storeModels(ms []weights.ModelInfo) []storeModel {
	out := make([]storeModel, 0, len(ms))
	for _, m := range ms {
		sm := storeModel{Name: m.Name, CID: m.Root.String(), HaveRoot: m.HaveRoot, LocalBlocks: []int{}}
		if m.HaveRoot {
			sm.Architecture, sm.Bytes, sm.Layers = m.Architecture, m.Bytes, m.Layers
			sm.Embed, sm.Head, sm.Complete = m.Embed, m.Head, m.Complete()
			for i, ok := range m.LocalBlocks {
				if ok {
					sm.LocalBlocks = append(sm.LocalBlocks, i)
				}
			}
		}
		out = append(out, sm)
	}
	return out
}

// nodeModels merges the node's models (with coverage) and its spans (from
// its status): one entry per model ID, the API's order, then models the
// node serves blocks of without being an entry.
func nodeModels(ms []api.ModelInfo, spans []api.Span) []nodeModel {
	out := []nodeModel{}
	at := map[string]int{}
	for _, m := range ms {
		servers := append([]int{}, m.Coverage...)
		at[m.ID] = len(out)
		out = append(out, nodeModel{
			ID: m.ID, Name: m.Name, Blocks: m.Blocks, ContextLength: m.ContextLength, Entry: true,
			Spans: []blockRange{}, Servers: servers,
			Gaps: blockRuns(len(servers), func(i int) bool { return servers[i] <= 0 }),
		})
	}
	for _, s := range spans {
		i, ok := at[s.Model]
		if !ok {
			i = len(out)
			at[s.Model] = i
			out = append(out, nodeModel{ID: s.Model, Spans: []blockRange{}, Servers: []int{}, Gaps: []blockRange{}})
		}
		out[i].Spans = append(out[i].Spans, blockRange{s.Start, s.End})
	}
	return out
}

// queryNode asks the node for its status (this node's spans) and its
// models (the swarm's coverage).
func queryNode(ctx context.Context, c *client.Client, url string) (*nodeReport, error) {
	st, err := c.Status(ctx)
	if err != nil {
		return nil, err
	}
	ms, err := c.Models(ctx)
	if err != nil {
		return nil, err
	}
	return &nodeReport{API: url, Running: true, PeerID: st.PeerID, Models: nodeModels(ms, st.Spans)}, nil
}

// mergeModels marks the store's models the node lists and the node's
// models the store has.
func mergeModels(rep *modelsReport) {
	if rep.Node == nil || !rep.Node.Running {
		return
	}
	served := map[string]bool{}
	for _, m := range rep.Node.Models {
		served[m.ID] = true
	}
	stored := map[string]bool{}
	for i := range rep.Store {
		s := &rep.Store[i]
		stored[s.CID] = true
		s.Served = new(served[s.CID])
	}
	if rep.Store == nil {
		return
	}
	for i := range rep.Node.Models {
		m := &rep.Node.Models[i]
		m.InStore = new(stored[m.ID])
	}
}

// oneLine flattens a message onto one line.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// nodeDownText says, in one line, why the node's models are not listed.
func nodeDownText(url string, timeout time.Duration, err error) string {
	if he := (*client.Error)(nil); errors.As(err, &he) {
		return fmt.Sprintf("the node API at %s answered with an error: %s", url, oneLine(he.Error()))
	}
	why := err.Error()
	if ue := (*neturl.Error)(nil); errors.As(err, &ue) {
		why = ue.Err.Error() // the dial error, without the request
	}
	if errors.Is(err, context.DeadlineExceeded) {
		why = fmt.Sprintf("no answer in %v", timeout)
	}
	return fmt.Sprintf("no node answering at %s (%s)", url, oneLine(why))
}

type modelsFlags struct {
	api                 apiFlags
	storeOnly, nodeOnly bool
	timeout             time.Duration
}

func newWeightsModelsCmd() *cobra.Command {
	var f modelsFlags
	cmd := &cobra.Command{
		Use:   "models [--store-only | --node-only] [--json]",
		Short: "List the models in the weight store and, when a node runs, what it serves and the swarm's coverage",
		Long: `Models lists the models of the weight store (--data-dir): name, root CID,
architecture, size, layers, the blocks stored whole, and whether the token
embedding and the output head are stored.

It also asks the running node (--api, as 'orbit status' does; at most
--api-timeout) for the models it serves, and merges them into the listing by
root CID, adding two columns: NODE SPAN, the blocks this node serves, and
SWARM, how many peers serve each block as the node sees the swarm
("blocks 0-15: 2-3 servers each; gap at 12-15"). Models the node serves that
the store lacks get rows of their own. When no node answers, a line on stderr
says so and the store's listing is printed as without a node (exit 0).
--store-only does not ask the node; --node-only lists the node's models only
and fails when the node does not answer.

--json prints one document:
  data_dir   the weight store's directory (absent with --node-only)
  store      [{name, cid, have_root, architecture, bytes, layers,
              local_blocks (block indexes), embed, head, complete,
              served (the node lists this CID; absent without a node)}]
             (null with --node-only)
  node       {api, running, error (why it did not answer), peer_id,
              models: [{id, name, blocks, context_length, entry,
              spans [{start, end}] (this node's blocks),
              servers (peers per block, this node included),
              gaps [{start, end}] (blocks nobody serves),
              in_store (absent with --node-only)}]}
             (null with --store-only)
Ranges are [start, end).`,
		Example: "  orbit models\n" +
			"  orbit models --api http://10.0.0.5:7717 --api-key KEY\n" +
			"  orbit models --json | jq '.node.models[] | {id, gaps}'",
		Args: cobra.NoArgs,
	}
	open := weightsDataDirFlag(cmd)
	f.api.register(cmd)
	fl := cmd.Flags()
	fl.BoolVar(&f.storeOnly, "store-only", false, "list the weight store only; do not ask the node")
	fl.BoolVar(&f.nodeOnly, "node-only", false, "list the node's models only; fail when it does not answer")
	fl.DurationVar(&f.timeout, "api-timeout", 2*time.Second, "how long to wait for the node API (0: no limit)")
	cmd.MarkFlagsMutuallyExclusive("store-only", "node-only")
	cmd.RunE = func(cmd *cobra.Command, args []string) error { return runModels(cmd, &f, open) }
	return cmd
}

func runModels(cmd *cobra.Command, f *modelsFlags, open func() (*weights.Store, error)) error {
	ctx := cmd.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	var rep modelsReport
	if !f.nodeOnly {
		s, err := open()
		if err != nil {
			return fmt.Errorf("opening the weight store: %w", err)
		}
		ms, err := s.Models(ctx)
		if err != nil {
			return fmt.Errorf("listing the weight store %s: %w", s.Dir(), err)
		}
		rep.DataDir, rep.Store = s.Dir(), storeModels(ms)
	}
	if !f.storeOnly {
		url := f.api.url()
		c, err := f.api.client()
		if err != nil {
			return fmt.Errorf("--api: %w", err)
		}
		qctx, cancel := ctx, context.CancelFunc(func() {})
		if f.timeout > 0 {
			qctx, cancel = context.WithTimeout(ctx, f.timeout)
		}
		rep.Node, err = queryNode(qctx, c, url)
		cancel()
		if err != nil {
			if f.nodeOnly {
				return fmt.Errorf("node API %s: %w", url, err)
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "orbit: %s; listing the weight store only\n", nodeDownText(url, f.timeout, err))
			rep.Node = &nodeReport{API: url, Error: oneLine(err.Error()), Models: []nodeModel{}}
		}
		mergeModels(&rep)
	}
	w := cmd.OutOrStdout()
	switch {
	case f.api.json:
		return printJSON(w, rep)
	case f.nodeOnly:
		return writeNodeModels(w, rep.Node.Models)
	case rep.Node == nil || !rep.Node.Running:
		return writeStoreModels(w, rep.Store)
	default:
		return writeMergedModels(w, rep.Store, rep.Node.Models)
	}
}

const storeHeader = "NAME\tCID\tARCH\tSIZE\tLAYERS\tLOCAL BLOCKS\tEMBED\tHEAD"

// storeColumns are a store model's cells under storeHeader.
func storeColumns(m storeModel) string {
	if !m.HaveRoot {
		return fmt.Sprintf("%s\t%s\t?\t?\t?\tnone (root not stored)\tno\tno", m.Name, m.CID)
	}
	yn := map[bool]string{true: "yes", false: "no"}
	local := make([]bool, m.Layers)
	for _, i := range m.LocalBlocks {
		if i >= 0 && i < len(local) {
			local[i] = true
		}
	}
	return fmt.Sprintf("%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s", m.Name, m.CID, m.Architecture,
		humanize.IBytes(uint64(m.Bytes)), m.Layers, weightsSpans(local), yn[m.Embed], yn[m.Head])
}

// nodeColumns are the NODE SPAN and SWARM cells of a node's model.
func nodeColumns(m nodeModel) string {
	return rangesText(m.Spans) + "\t" + swarmText(m.Servers)
}

// layersText is a model's block count, "?" when unknown.
func layersText(n int) string {
	if n <= 0 {
		return "?"
	}
	return strconv.Itoa(n)
}

// writeStoreModels prints the store's listing alone.
func writeStoreModels(w io.Writer, ms []storeModel) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, storeHeader)
	for _, m := range ms {
		fmt.Fprintln(tw, storeColumns(m))
	}
	return tw.Flush()
}

// writeNodeModels prints the node's models alone (--node-only).
func writeNodeModels(w io.Writer, ms []nodeModel) error {
	if len(ms) == 0 {
		fmt.Fprintln(w, "the node serves no models")
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "MODEL\tNAME\tLAYERS\tCONTEXT\tNODE SPAN\tSWARM")
	for _, m := range ms {
		name := m.Name
		if name == "" {
			name = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\n", m.ID, name, layersText(m.Blocks), m.ContextLength, nodeColumns(m))
	}
	return tw.Flush()
}

// writeMergedModels prints the store's models with what the node says of
// them, then the node's models the store lacks.
func writeMergedModels(w io.Writer, store []storeModel, node []nodeModel) error {
	byID := map[string]nodeModel{}
	for _, m := range node {
		byID[m.ID] = m
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, storeHeader+"\tNODE SPAN\tSWARM")
	for _, s := range store {
		tail := "-\t-"
		if m, ok := byID[s.CID]; ok {
			tail = nodeColumns(m)
		}
		fmt.Fprintf(tw, "%s\t%s\n", storeColumns(s), tail)
	}
	for _, m := range node {
		if m.InStore != nil && *m.InStore {
			continue
		}
		// A node names a model by its root CID (orbit run) or by the
		// name clients ask for (orbit serve --id).
		name, id := m.Name, m.ID
		if _, err := cid.Decode(m.ID); err != nil {
			name, id = m.ID, "-"
		}
		if name == "" {
			name = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t-\t-\t%s\tnot in store\t-\t-\t%s\n", name, id, layersText(m.Blocks), nodeColumns(m))
	}
	return tw.Flush()
}
