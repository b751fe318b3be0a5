package entry

import (
	"errors"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/orbitswarm/orbit/protocol"
	"github.com/orbitswarm/orbit/sharding"
)

// FuzzCore drives a core with arbitrary events, answers included that it
// did not ask for. It must never panic, return at most one request
// (FetchView, Open, Await) and only as the last action, and once it
// failed answer every event with a Fail alone.
func FuzzCore(f *testing.F) {
	f.Add([]byte{0, 1, 2, 4, 5, 5, 4, 6, 1, 2, 5})
	f.Add([]byte{0, 1, 2, 4, 7, 1, 2, 5, 5, 4, 8, 1, 2, 9, 5})
	f.Add([]byte{0, 1, 3, 1, 3, 1, 3, 1, 3})
	f.Add([]byte{0, 1, 2, 14, 5, 5, 119, 4, 5, 7, 1, 2, 5, 5})
	f.Add([]byte{0, 1, 2, 4, 5, 1, 2, 5, 5, 1, 2, 5, 4, 5, 5, 4, 105, 5, 1, 2, 5, 1, 2, 5})
	f.Add([]byte{0, 1, 2, 4, 5, 1, 2, 105, 1, 2, 5, 1, 2, 5, 5, 5, 1, 2, 5, 5})
	f.Fuzz(func(t *testing.T, script []byte) {
		// Scripts of every length mod 3 run with checks at rate 0, 1/2
		// or 1; results of bytes 100..199 differ from the others, so
		// checks find mismatches too.
		c := New(Config{Model: "m", Blocks: 4, Dim: 2, Encoding: protocol.EncodingF32, MaxLen: 64, Chunk: 3, StepTimeout: time.Second,
			VerifyRate: float64(len(script)%3) / 2, Seed: uint64(len(script)), Self: "z"})
		now := time.Unix(0, 0)
		var await *Await
		var open *Open
		pos := 0
		failed := false // a Fail came, for an earlier event
		for i, b := range script {
			var ev Event
			switch b % 10 {
			case 0:
				ev = Start{}
			case 1:
				v := ViewUpdate{Swarm: sharding.Swarm{Blocks: 4}, Peers: map[string]peer.ID{}, Banned: map[string]bool{}}
				for k := range int(b/10)%4 + 1 {
					p := peer.ID(rune('a' + (i+k)%6))
					start := (i + k) % 4
					v.Swarm.Servers = append(v.Swarm.Servers, sharding.Server{ID: p.String(), Span: sharding.Span{Start: start, End: min(4, start+1+k)}, Throughput: 10, FreeCache: 100})
					v.Peers[p.String()] = p
				}
				v.Swarm.Servers = append(v.Swarm.Servers, sharding.Server{ID: peer.ID("z").String(), Span: sharding.Span{Start: 0, End: 4}, Throughput: 1, FreeCache: 100})
				v.Peers[peer.ID("z").String()] = "z"
				ev = v
			case 2:
				ev = Opened{}
			case 3:
				id := HopID(b / 10)
				if open != nil && len(open.Hops) > 0 {
					id = open.Hops[int(b/10)%len(open.Hops)].ID
				}
				ev = OpenFailed{Hop: id, Err: errors.New("refused")}
			case 4:
				rows := int(b/10)%3 + 1
				ev = Submit{Pos: pos, Hidden: protocol.Hidden{Encoding: protocol.EncodingF32, Rows: rows, Dim: 2, Data: make([]byte, 8*rows)}}
				pos += rows
			case 5, 6:
				if await == nil {
					ev = StepResult{Hop: HopID(b / 10), Seq: uint64(b)}
					break
				}
				res := protocol.Result{Seq: await.Seq, Hidden: protocol.Hidden{Encoding: protocol.EncodingF32, Rows: await.Rows, Dim: 2, Data: make([]byte, 8*await.Rows)}}
				if b%10 == 6 {
					res.PushError = "refused"
				}
				if b >= 100 && b < 200 {
					res.Hidden.Data[0] = b
				}
				// The position is the last Submit's, right for most
				// steps; a wrong one (replays, b >= 200) is a lie the core
				// must handle too.
				res.Pos = pos - await.Rows
				if b >= 200 {
					res.Pos = -1
				}
				ev = StepResult{Hop: await.Hop, Seq: await.Seq, Result: res}
			case 7:
				if await != nil {
					ev = HopFailed{Hop: await.Hop, Seq: await.Seq, Err: &protocol.RemoteError{Code: protocol.CodeBadPush}}
				} else {
					ev = HopFailed{Err: errors.New("gone")}
				}
			case 8:
				if await != nil {
					ev = Timeout{Hop: await.Hop, Seq: await.Seq}
				} else {
					ev = Timeout{}
				}
			case 9:
				if b >= 100 {
					ev = Rollback{Len: pos - int(b/10)%4}
					pos = max(0, pos-int(b/10)%4)
					break
				}
				ev = ViewFailed{Err: errors.New("no view")}
			}
			now = now.Add(time.Millisecond)
			acts := c.Step(now, ev)
			await, open = nil, nil
			if failed {
				if len(acts) != 1 {
					t.Fatalf("event %d (%T) after a Fail: %v, want a Fail alone", i, ev, acts)
				}
				if _, ok := acts[0].(Fail); !ok {
					t.Fatalf("event %d (%T) after a Fail: %v, want a Fail alone", i, ev, acts)
				}
				continue
			}
			for k, a := range acts {
				if k < len(acts)-1 {
					switch a.(type) {
					case FetchView, Open, Await, Ready, Output, Fail:
						t.Fatalf("event %d (%T): %v before the end of %v", i, ev, a, acts)
					}
				}
				switch a := a.(type) {
				case Open:
					open = &a
				case Await:
					await = &a
				case Fail:
					failed = true
				}
			}
		}
	})
}
