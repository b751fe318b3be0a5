package protocol

import (
	"crypto/rand"
	"errors"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	"google.golang.org/protobuf/proto"

	pb "github.com/orbitswarm/orbit/proto"
)

type signer struct {
	id  peer.ID
	key crypto.PrivKey
}

func newSigner(t testing.TB) signer {
	t.Helper()
	k, _, err := crypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	id, err := peer.IDFromPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return signer{id, k}
}

// answer is s's signed answer ending at position 5 over the inputs in,
// with outputs out, as a step of rows rows.
func (s signer) answer(t testing.TB, rows int, in, out Digest) SignedAnswer {
	t.Helper()
	c := Claim{Peer: s.id, Model: "m", Session: NewSessionID(), Span: spanOf(2, 4), Seq: 9, Pos: 5 - rows, Rows: rows, In: in, Out: out}
	sig, err := c.Sign(s.key)
	if err != nil {
		t.Fatal(err)
	}
	return SignedAnswer{Claim: c, Signature: sig}
}

// TestReportVerdict: a report convicts the accused only with two signed
// answers of other peers that agree with each other against its own,
// over the same inputs; a forged, altered or inconsistent report is
// rejected, and one witness alone (the reporter, say) decides nothing.
func TestReportVerdict(t *testing.T) {
	honest1, honest2, liar := newSigner(t), newSigner(t), newSigner(t)
	in, good, bad := Digest{1}, Digest{2}, Digest{3}
	forged := liar.answer(t, 5, in, bad)
	forged.Claim.Peer = honest2.id // signed by the liar, claimed as honest2's
	altered := honest1.answer(t, 1, in, good)
	altered.Claim.Out = bad
	for _, tc := range []struct {
		name string
		r    Report
		want peer.ID
		err  error
	}{
		{"two witnesses convict", Report{liar.answer(t, 1, in, bad), []SignedAnswer{honest1.answer(t, 5, in, good), honest2.answer(t, 3, in, good)}}, liar.id, nil},
		{"one witness decides nothing", Report{honest1.answer(t, 1, in, good), []SignedAnswer{liar.answer(t, 5, in, bad)}}, "", ErrUndecided},
		{"a forged witness is rejected", Report{honest1.answer(t, 1, in, good), []SignedAnswer{liar.answer(t, 5, in, bad), forged}}, "", ErrBadReport},
		{"an altered answer is rejected", Report{altered, []SignedAnswer{honest2.answer(t, 5, in, good), liar.answer(t, 5, in, good)}}, "", ErrBadReport},
		{"other inputs", Report{liar.answer(t, 1, in, bad), []SignedAnswer{honest1.answer(t, 5, Digest{9}, good), honest2.answer(t, 5, in, good)}}, "", ErrBadReport},
		{"another end position", Report{liar.answer(t, 1, in, bad), []SignedAnswer{
			func() SignedAnswer {
				a := honest1.answer(t, 5, in, good)
				a.Claim.Rows = 4
				a.Signature, _ = a.Claim.Sign(honest1.key)
				return a
			}(),
			honest2.answer(t, 5, in, good)}}, "", ErrBadReport},
		{"a witness twice", Report{liar.answer(t, 1, in, bad), []SignedAnswer{honest1.answer(t, 5, in, good), honest1.answer(t, 4, in, good)}}, "", ErrBadReport},
		{"the accused agrees", Report{honest1.answer(t, 1, in, good), []SignedAnswer{honest2.answer(t, 5, in, good), liar.answer(t, 5, in, good)}}, "", ErrBadReport},
		{"witnesses disagree", Report{honest1.answer(t, 1, in, good), []SignedAnswer{honest2.answer(t, 5, in, bad), liar.answer(t, 5, in, Digest{7})}}, "", ErrUndecided},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Through the wire and back.
			b, err := proto.Marshal(ReportToWire(tc.r))
			if err != nil {
				t.Fatal(err)
			}
			var m pb.InferReport
			if err := proto.Unmarshal(b, &m); err != nil {
				t.Fatal(err)
			}
			r, err := ReportFromWire(&m)
			if err != nil {
				t.Fatal(err)
			}
			got, err := r.Verdict(nil)
			if got != tc.want || !errors.Is(err, tc.err) || (tc.err == nil) != (err == nil) {
				t.Fatalf("verdict %s, %v; want %s, %v", got, err, tc.want, tc.err)
			}
		})
	}
}

// TestReportStream: a report sent on ReportID reaches the handler whole.
func TestReportStream(t *testing.T) {
	server, client := connected(t)
	got := make(chan Report, 1)
	stop := ServeReports(server, func(from peer.ID, r Report, err error) {
		if err != nil || from != client.ID() {
			t.Errorf("report from %s: %v", from, err)
		}
		got <- r
	}, quiet)
	defer stop()
	a, b, c := newSigner(t), newSigner(t), newSigner(t)
	r := Report{a.answer(t, 1, Digest{1}, Digest{3}), []SignedAnswer{b.answer(t, 2, Digest{1}, Digest{2}), c.answer(t, 5, Digest{1}, Digest{2})}}
	if err := SendReport(t.Context(), client, server.ID(), r, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	select {
	case r2 := <-got:
		if p, err := r2.Verdict(nil); err != nil || p != a.id {
			t.Fatalf("verdict %s, %v", p, err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no report")
	}
}

// FuzzReport decodes arbitrary report messages and judges them: never a
// panic, and a verdict only for a report whose signatures verify.
func FuzzReport(f *testing.F) {
	a, b, c := newSigner(f), newSigner(f), newSigner(f)
	r := Report{a.answer(f, 1, Digest{1}, Digest{3}), []SignedAnswer{b.answer(f, 2, Digest{1}, Digest{2}), c.answer(f, 5, Digest{1}, Digest{2})}}
	seed, _ := proto.Marshal(ReportToWire(r))
	f.Add(seed)
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		var m pb.InferReport
		if proto.Unmarshal(data, &m) != nil {
			return
		}
		r, err := ReportFromWire(&m)
		if err != nil {
			return
		}
		p, err := r.Verdict(nil)
		if err == nil {
			if p != r.Accused.Claim.Peer || r.Accused.Claim.Verify(r.Accused.Signature) != nil {
				t.Fatalf("verdict %s on a report whose accused's answer does not verify", p)
			}
		}
	})
}
