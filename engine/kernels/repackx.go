package kernels

// Repacked layouts of q4_1, q5_0, mxfp4 and iq4_xs (see repack.go for the
// scheme: groups of 16 rows, each block position holding the 16 rows'
// blocks as pieces, a piece stored row after row):
//
//	q4_1   (20 bytes, 320 per position): d (2), m (2), then qs[4k..4k+3]
//	       for k = 0..3 (4 each), as q4_0.
//	q5_0   (22 bytes, 352 per position): d (2), the high-bit word qh (4),
//	       then qs[4k..4k+3] for k = 0..3 (4 each), as q4_0. Runs of 8
//	       as q4_0's (2816 bytes: the 8 positions' d, then each one's qh
//	       and nibbles), every vector load 64-byte aligned.
//	mxfp4  (17 bytes, 272 per position): the E8M0 exponent (1), then
//	       qs[4k..4k+3] for k = 0..3 (4 each), as q4_0. Runs of 8 (2176
//	       bytes: the 8 positions' exponents, then each one's nibbles).
//	iq4_xs (136 bytes, 2176 per position): d (2), the high scale bits (2),
//	       the low scale nibbles (4), then the 128 bytes of nibbles as 32
//	       dwords (4 each): dword i holds values 4(i%4)..4(i%4)+3 of
//	       sub-block i/4 in its low nibbles and 16+4(i%4).. in its high
//	       ones.

var (
	packPiecesQ4_1  = []piece{{0, 2}, {2, 2}, {4, 4}, {8, 4}, {12, 4}, {16, 4}}
	packPiecesQ5_0  = []piece{{0, 2}, {2, 4}, {6, 4}, {10, 4}, {14, 4}, {18, 4}}
	packPiecesMXFP4 = []piece{{0, 1}, {1, 4}, {5, 4}, {9, 4}, {13, 4}}
	packPiecesIQ4XS = func() []piece {
		ps := []piece{{0, 2}, {2, 2}, {4, 4}}
		for i := 0; i < 32; i++ {
			ps = append(ps, piece{8 + 4*i, 4})
		}
		return ps
	}()
)

// packPiecesExt returns the pieces of the later types with a repacked
// layout, or nil.
func packPiecesExt(t DType) []piece {
	switch t {
	case Q4_1:
		return packPiecesQ4_1
	case Q5_0:
		return packPiecesQ5_0
	case MXFP4:
		return packPiecesMXFP4
	case IQ4_XS:
		return packPiecesIQ4XS
	}
	return nil
}

// extPacked holds a set's kernels for repacked matrices of the later
// types (nil: not repacked), with the conventions of pColFn and pColsFn:
// q4_1, q5_0 and mxfp4 take per-32 activations (scales and sums one per
// block), iq4_xs per-256 ones (one scale per super-block, sums per 32).
type extPacked struct {
	q4_1P1, q5_0P1, mxfp4P1, iq4XSP1 pColFn
	q4_1P4, q5_0P4, mxfp4P4, iq4XSP4 pColsFn
}

// packedKernels returns the set's kernels for repacked t matrices of the
// later types.
func (e *extKernels) packedKernels(t DType) (pColFn, pColsFn) {
	k := &e.packed
	switch t {
	case Q4_1:
		return k.q4_1P1, k.q4_1P4
	case Q5_0:
		return k.q5_0P1, k.q5_0P4
	case MXFP4:
		return k.mxfp4P1, k.mxfp4P4
	case IQ4_XS:
		return k.iq4XSP1, k.iq4XSP4
	}
	return nil, nil
}
