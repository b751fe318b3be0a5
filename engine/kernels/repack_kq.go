package kernels

// Repacked layouts of q5_k and q3_k (see repack.go for the scheme: 16
// rows' blocks side by side, piece by piece):
//
//	q5_k (176 bytes, 2816 per position): d (2), dmin (2), the 12 bytes of
//	     scales and mins as 3 dwords (4 each), the 32 bytes of high bits
//	     as 8 dwords (dword q of a row holds the fifth bits of values
//	     4q..4q+3 of every sub-block, bit j for sub-block j), then the
//	     128 bytes of nibbles as 32 dwords, as q4_k's.
//	q3_k (110 bytes, 1760 per position): the 32 bytes of high bits
//	     (hmask) as 8 dwords (dword q: positions 4q..4q+3, bit s for
//	     sub-block s), the 64 bytes of 2-bit values as 16 dwords (dword i:
//	     positions 4(i%8)..4(i%8)+3 of sub-blocks 4(i/8)..4(i/8)+3, two
//	     bits each), the 12 bytes of scales as 3 dwords, then d (2).
var (
	packPiecesQ5K = func() []piece {
		ps := []piece{{0, 2}, {2, 2}, {4, 4}, {8, 4}, {12, 4}}
		for i := 0; i < 8+32; i++ {
			ps = append(ps, piece{16 + 4*i, 4})
		}
		return ps
	}()
	packPiecesQ3K = func() []piece {
		var ps []piece
		for i := 0; i < 8+16+3; i++ {
			ps = append(ps, piece{4 * i, 4})
		}
		return append(ps, piece{108, 2})
	}()
)

// kqPacked holds a set's kernels for repacked q5_k and q3_k matrices
// (nil: the set does not repack them), and optionally their 2- and
// 3-column kernels (nil: the 1-column kernel column by column).
type kqPacked struct {
	q5KP1, q3KP1 pColFn
	q5KP4, q3KP4 pColsFn
	q5KP2, q5KP3 pColsFn
	q3KP2, q3KP3 pColsFn
}
