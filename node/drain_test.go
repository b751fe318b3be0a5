package node

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/orbitswarm/orbit/protocol"
)

// TestDrain: a node draining for a graceful exit lets a running
// generation through it finish, refuses new sessions and stops reporting
// its span.
func TestDrain(t *testing.T) {
	cases := loadReference(t)
	src := fileSource(t, aidreamsPath)
	a := startNode(t, testConfig(t))
	serve(t, a, src, ServeOptions{Blocks: spanOf(0, 2), Entry: true})
	cfg := testConfig(t, a)
	b := startNode(t, cfg)
	serve(t, b, src, ServeOptions{Blocks: spanOf(2, 4)})
	waitView(t, a, src.ID(), 2)

	c := cases[0]
	first := make(chan struct{})
	resume := make(chan struct{})
	type result struct {
		toks []int32
		err  error
	}
	done := make(chan result, 1)
	go func() {
		var got []int32
		_, err := a.Generate(t.Context(), src.ID(), c.PromptTokens, c.Steps+1-len(c.PromptTokens), nil,
			func(tok int32) bool { return tok == 1 }, func(tok int32) error {
				if got = append(got, tok); len(got) == 1 {
					close(first)
					<-resume
				}
				return nil
			})
		done <- result{got, err}
	}()
	<-first
	drained := make(chan int, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	b.StopSessions()
	go func() { drained <- b.Drain(ctx) }()
	// New sessions are refused while the running one goes on.
	if _, err := (backend{b}).OpenSession(ctx, src.ID(), spanOf(2, 4), 8); !errors.Is(err, protocol.ErrShuttingDown) {
		t.Fatalf("a draining node opened a session (%v)", err)
	}
	if in := b.info(); len(in.Models) != 0 {
		t.Fatalf("a draining node reports %+v", in.Models)
	}
	close(resume)
	r := <-done
	if r.err != nil || !slices.Equal(r.toks, c.GeneratedTokens) {
		t.Fatalf("generation during drain: %v %v, want %v", r.toks, r.err, c.GeneratedTokens)
	}
	if left := <-drained; left != 0 {
		t.Fatalf("%d sessions left after drain", left)
	}
}
