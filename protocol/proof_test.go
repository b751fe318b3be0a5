package protocol

import (
	"bytes"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
)

// TestSignedResults: a session opened with Sign answers every step with a
// proof whose digests chain over the rows (so they do not depend on how
// the rows were batched) and whose signature verifies with the key in the
// server's peer ID; a tampered claim does not verify; a session opened
// without Sign answers without proofs.
func TestSignedResults(t *testing.T) {
	server, client := connected(t)
	srv := NewInferServer(server, widthBackend{64}, ServerConfig{IOTimeout: 5 * time.Second, Logger: quiet})
	srv.Start()
	t.Cleanup(srv.Close)
	x := randRows(5, 64, 3)
	all, err := EncodeRows(EncodingF16, x, 64)
	if err != nil {
		t.Fatal(err)
	}
	rb := len(all.Data) / 5
	part := func(a, b int) Hidden {
		return Hidden{Encoding: EncodingF16, Rows: b - a, Dim: 64, Data: all.Data[a*rb : b*rb]}
	}

	// The same five rows as one step, and as steps of 2 and 3 rows.
	var last []*Proof
	for _, cuts := range [][]int{{0, 5}, {0, 2, 5}} {
		req := OpenRequest{Model: "m", Span: spanOf(0, 1), MaxLength: 8, Encodings: []Encoding{EncodingF16}, Sign: true}
		hp, err := OpenHop(t.Context(), client, server.ID(), req, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if !hp.Opened.Signs {
			t.Fatal("a session opened with Sign does not sign")
		}
		var proof *Proof
		for i := 1; i < len(cuts); i++ {
			seq := uint64(i)
			if err := hp.Send(Step{Seq: seq, Pos: cuts[i-1], Hidden: part(cuts[i-1], cuts[i])}); err != nil {
				t.Fatal(err)
			}
			res, err := hp.Await(t.Context(), seq, 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			if res.Proof == nil {
				t.Fatalf("step %d: no proof", seq)
			}
			c := Claim{Peer: server.ID(), Model: "m", Session: hp.Opened.Session, Span: spanOf(0, 1), Seq: seq, Pos: cuts[i-1], Rows: cuts[i] - cuts[i-1], In: res.Proof.In, Out: res.Proof.Out}
			if err := c.Verify(res.Proof.Signature); err != nil {
				t.Fatalf("step %d: %v", seq, err)
			}
			// The digests are the chains over the rows so far.
			want := ChainRows(Digest{}, all.Data[:cuts[i]*rb], cuts[i])
			if res.Proof.In != want[len(want)-1] || res.Proof.Out != want[len(want)-1] {
				t.Fatalf("step %d: digests %v %v, want %v (the backend echoes)", seq, res.Proof.In, res.Proof.Out, want[len(want)-1])
			}
			for _, bad := range []Claim{
				func() Claim { d := c; d.Out[0] ^= 1; return d }(),
				func() Claim { d := c; d.Seq++; return d }(),
				func() Claim { d := c; d.Model = "n"; return d }(),
				func() Claim { d := c; d.Peer = client.ID(); return d }(),
			} {
				if bad.Verify(res.Proof.Signature) == nil {
					t.Fatalf("a tampered claim %+v verifies", bad)
				}
			}
			proof = res.Proof
		}
		last = append(last, proof)
		_ = hp.Close()
	}
	if last[0].In != last[1].In || last[0].Out != last[1].Out {
		t.Fatal("the digests depend on how the rows were batched")
	}

	// Without the capability: no proof.
	hp, err := OpenHop(t.Context(), client, server.ID(), OpenRequest{Model: "m", Span: spanOf(0, 1), MaxLength: 8, Encodings: []Encoding{EncodingF16}}, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer hp.Close()
	if hp.Opened.Signs {
		t.Fatal("a session opened without Sign signs")
	}
	if err := hp.Send(Step{Seq: 1, Pos: 0, Hidden: part(0, 1)}); err != nil {
		t.Fatal(err)
	}
	res, err := hp.Await(t.Context(), 1, 5*time.Second)
	if err != nil || res.Proof != nil {
		t.Fatalf("unsigned session: proof %v, err %v", res.Proof, err)
	}
}

// TestClaimVerify: signatures are bound to the signer's peer ID; an empty
// or oversized signature and a peer ID without an embedded key are
// refused.
func TestClaimVerify(t *testing.T) {
	h := newHost(t)
	key := h.Peerstore().PrivKey(h.ID())
	c := Claim{Peer: h.ID(), Model: "m", Span: spanOf(0, 2), Seq: 3, Pos: 4, Rows: 1}
	sig, err := c.Sign(key)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Verify(sig); err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		c   Claim
		sig []byte
	}{
		"empty":     {c, nil},
		"oversized": {c, bytes.Repeat([]byte{1}, MaxSignature+1)},
		"flipped":   {c, append([]byte{sig[0] ^ 1}, sig[1:]...)},
		"no key":    {func() Claim { d := c; d.Peer = peer.ID("not-a-key"); return d }(), sig},
	} {
		if tc.c.Verify(tc.sig) == nil {
			t.Errorf("%s: verifies", name)
		}
	}
}
