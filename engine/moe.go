package engine

import (
	"math"

	"github.com/orbitswarm/orbit/engine/kernels"
)

// A mixture-of-experts feed-forward (Mixtral, Qwen3-MoE) computes, for each
// row x (the normed hidden state), in this fixed order of float32
// operations (llama.cpp's build_moe_ffn with softmax gating):
//
//  1. logits = router . x (a MatMul, so canonical as every product).
//  2. probabilities over all experts: m = max(logits), e_i =
//     Exp32(logits_i - m), s = the float64 sum of the e_i in expert order,
//     p_i = e_i * float32(1/s).
//  3. the ExpertsUsed experts of highest p, highest first; of equal p the
//     lower expert index comes first (as llama.cpp's argsort of up to 16
//     experts orders them).
//  4. w_j = p of the j-th chosen expert; with ExpertNorm, t = float32(the
//     float64 sum of the w_j in slot order), t = max(t, 2^-14) and w_j =
//     w_j / t; with ExpertScale (not 0 or 1), w_j = w_j * ExpertScale.
//  5. y_j = down_j . (SiLU(gate_j . x) * (up_j . x)), as a dense block's
//     feed-forward with the chosen expert's matrices.
//     gpt-oss: the router's logits get its bias, the experts are chosen by
//     logit (step 3 on the logits) and their weights are the softmax
//     (step 2) of the chosen logits in slot order, not renormalized; y_j
//     is expertOAI's: biases after each product, SwiGLUOAI activation.
//  6. out = y_0*w_0, then out = out + y_j*w_j for j = 1, 2, ... (each
//     product rounded before the sum).
//
// The experts run for a whole batch at once: the rows routed to an expert
// are gathered and multiplied together, experts in index order. Products
// are row-independent and step 6 sums a row's experts in its own slot
// order, so a row's result does not depend on its batch.
type moeScratch struct {
	logits []float32 // n * Experts: router logits, then probabilities
	sel    []int32   // n * ExpertsUsed chosen experts, slot order
	w      []float32 // n * ExpertsUsed weights
	count  []int     // rows per expert
	order  []int32   // (row*ExpertsUsed + slot) grouped by expert
	xe     []float32 // gathered rows of one expert
	he     []float32 // gate, then SiLU(gate)*up
	he2    []float32 // up
	ye     []float32 // expert outputs of the gathered rows
	slots  []float32 // n * ExpertsUsed * Dim expert outputs
}

// moe replaces xb (n normed rows) with the mixture of experts' output.
func (m *Model) moe(l *layer, xb []float32, n int) error {
	c := &m.Config
	ne, k, dim, eh := c.Experts, c.ExpertsUsed, c.Dim, c.ExpertHidden
	b := &m.buf.moe
	logits := grow(&b.logits, n*ne)
	if err := m.pool.MatMul(logits, l.router, xb, n); err != nil {
		return err
	}
	if l.routerB != nil {
		for r := 0; r < n; r++ {
			addTo(logits[r*ne:(r+1)*ne], l.routerB)
		}
	}
	if cap(b.sel) < n*k {
		b.sel = make([]int32, n*k)
		b.order = make([]int32, n*k)
	}
	sel, order := b.sel[:n*k], b.order[:n*k]
	w := grow(&b.w, n*k)
	if cap(b.count) < ne+1 {
		b.count = make([]int, ne+1)
	}
	count := b.count[:ne+1]
	clear(count)
	for r := 0; r < n; r++ {
		if l.mla != nil {
			routeMLA(c, logits[r*ne:(r+1)*ne], l.mla.probsB, sel[r*k:(r+1)*k], w[r*k:(r+1)*k], &m.buf.mla)
		} else {
			route(logits[r*ne:(r+1)*ne], sel[r*k:(r+1)*k], w[r*k:(r+1)*k], c.WeightSoftmax, c.ExpertNorm, c.ExpertScale)
		}
		for _, e := range sel[r*k : (r+1)*k] {
			count[e+1]++
		}
	}
	// count[e] becomes the start of expert e's entries in order.
	for e := 1; e <= ne; e++ {
		count[e] += count[e-1]
	}
	for i, e := range sel {
		order[count[e]] = int32(i)
		count[e]++
	}
	// Now count[e] is the end of expert e's entries (the start of e+1's).
	slots := grow(&b.slots, n*k*dim)
	start := 0
	for e := 0; e < ne; e++ {
		end := count[e]
		rows := end - start
		if rows == 0 {
			continue
		}
		xe := grow(&b.xe, rows*dim)
		for i, o := range order[start:end] {
			r := int(o) / k
			copy(xe[i*dim:(i+1)*dim], xb[r*dim:(r+1)*dim])
		}
		he := grow(&b.he, rows*eh)
		he2 := grow(&b.he2, rows*eh)
		ye := grow(&b.ye, rows*dim)
		if c.SwiGLUOAI {
			if err := m.expertOAI(l, e, xe, he, he2, ye, rows); err != nil {
				return err
			}
		} else {
			if err := m.pool.MatMulGLU(he, l.expGate[e], he2, l.expUp[e], xe, rows); err != nil {
				return err
			}
			if err := m.pool.MatMul(ye, l.expDown[e], he, rows); err != nil {
				return err
			}
		}
		for i, o := range order[start:end] {
			copy(slots[int(o)*dim:(int(o)+1)*dim], ye[i*dim:(i+1)*dim])
		}
		start = end
	}
	for r := 0; r < n; r++ {
		out := xb[r*dim : (r+1)*dim]
		for j := 0; j < k; j++ {
			y, wj := slots[(r*k+j)*dim:(r*k+j+1)*dim], w[r*k+j]
			if j == 0 {
				for i := range out {
					out[i] = y[i] * wj
				}
				continue
			}
			for i := range out {
				out[i] += float32(y[i] * wj)
			}
		}
	}
	return nil
}

// expertOAI is a gpt-oss expert over rows gathered rows xe: gate = gate_e
// . x + gate bias, up = up_e . x + up bias, h = SwiGLUOAI(gate, up), ye =
// down_e . h + down bias (each bias added after its product, as llama.cpp's
// add_id).
func (m *Model) expertOAI(l *layer, e int, xe, he, he2, ye []float32, rows int) error {
	c := &m.Config
	eh, dim := c.ExpertHidden, c.Dim
	if err := m.pool.MatMulShared(xe, rows, kernels.Product{Dst: he, W: l.expGate[e]}, kernels.Product{Dst: he2, W: l.expUp[e]}); err != nil {
		return err
	}
	gb, ub, db := l.expGateB[e*eh:(e+1)*eh], l.expUpB[e*eh:(e+1)*eh], l.expDownB[e*dim:(e+1)*dim]
	for r := 0; r < rows; r++ {
		g, u := he[r*eh:(r+1)*eh], he2[r*eh:(r+1)*eh]
		addTo(g, gb)
		addTo(u, ub)
		kernels.SwiGLUOAIRows(g, u)
	}
	if err := m.pool.MatMul(ye, l.expDown[e], he, rows); err != nil {
		return err
	}
	for r := 0; r < rows; r++ {
		addTo(ye[r*dim:(r+1)*dim], db)
	}
	return nil
}

// minExpertWeightSum is the smallest normal float16, the floor llama.cpp
// clamps the chosen experts' weight sum to.
const minExpertWeightSum = 6.103515625e-5

// route turns one row's router logits (overwritten with probabilities)
// into its chosen experts and their weights (steps 2 to 4 above).
//
// With weightSoftmax (gpt-oss) the experts are chosen by their logits and
// the weights are the softmax of the chosen logits in slot order.
func route(logits []float32, sel []int32, w []float32, weightSoftmax, norm bool, scale float32) {
	if !weightSoftmax {
		softmax(logits)
	}
	for j := range sel {
		best := -1
		for e, p := range logits {
			if best >= 0 && !(p > logits[best]) {
				continue
			}
			if taken(sel[:j], e) {
				continue
			}
			best = e
		}
		sel[j], w[j] = int32(best), logits[best]
	}
	if weightSoftmax {
		softmax(w)
	}
	if norm {
		var s float64
		for _, v := range w {
			s += float64(v)
		}
		t := max(float32(s), minExpertWeightSum)
		for j := range w {
			w[j] /= t
		}
	}
	if scale != 0 && scale != 1 {
		for j := range w {
			w[j] *= scale
		}
	}
}

func taken(sel []int32, e int) bool {
	for _, s := range sel {
		if int(s) == e {
			return true
		}
	}
	return false
}

// softmax replaces x with its softmax: e_i = Exp32(x_i - max) summed in
// float64 in order, each e_i times float32(1/sum).
func softmax(x []float32) {
	m := float32(math.Inf(-1))
	for _, v := range x {
		m = max(m, v)
	}
	var s float64
	for i, v := range x {
		e := kernels.Exp32(v - m)
		x[i] = e
		s += float64(e)
	}
	inv := float32(1 / s)
	for i := range x {
		x[i] *= inv
	}
}
