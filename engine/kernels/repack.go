package kernels

import "encoding/binary"

// Repacked (row-interleaved) weight layouts.
//
// A mat-vec kernel that reads one row at a time spends most of its
// instructions on unpacking nibbles and gathering scales, not on memory.
// Pool.Repack stores a matrix so that one vector load gives the same
// values of 16 consecutive rows, one row per 32-bit lane: the kernels then
// form the 16 rows' exact int32 block sums side by side and do each row's
// float steps in its own lane. The arithmetic of every row is unchanged
// (see the package documentation): the same exact int32 per block, the
// same float operations in the same order, so a repacked matrix gives
// bitwise the results of the original one.
//
// A repacked matrix has the same size as the original. Rows [0, Rows&^15)
// form groups of 16 consecutive rows; group g takes the bytes of its rows
// (16*RowBytes from offset 16*g*RowBytes), and the last Rows%16 rows stay
// in block layout where they were. Within a group the block positions
// follow in order, taken in runs (packRun): q4_0's, q5_0's and mxfp4's in
// runs of 8 (the last Blocks%8 positions one by one), q8_0's in runs of 4
// (the last Blocks%4 one by one), q6_k's in runs of 2 (the last Blocks%2
// alone), the others one by one. A position holds the
// 16 rows' blocks as a sequence of pieces, a piece being n bytes (1, 2 or
// 4) at one offset of every row's block, stored row after row (16*n
// bytes); a run of k positions stores the first piece (the scale) of its
// k positions in order, then the other pieces of each position in turn,
// so that a run of one is simply its pieces in order:
//
//	q4_0 (18 bytes, 288 per position): d (2); then for k = 0..3 the
//	     bytes qs[4k..4k+3] (4): dword r of piece k holds row r's values
//	     4k..4k+3 in its low nibbles and 16+4k..16+4k+3 in its high ones.
//	     A run of 8 (2304 bytes): the 8 positions' d at 32j, then the
//	     positions' 4 pieces, position j's piece k at 256+256j+64k. Every
//	     vector load of a run is 64-byte aligned (a lone 288-byte position
//	     puts every other position's loads across two cache lines), the
//	     loads go through memory in order, and each load instruction of a
//	     kernel's unrolled run steps 2304 bytes, which the CPU's stride
//	     prefetcher follows a run ahead: together about 30% more DRAM
//	     throughput per core (other orders of the same bytes lose it).
//	q8_0 (34 bytes, 544 per position): d (2); then for k = 0..7 the
//	     bytes qs[4k..4k+3] (4): dword r of piece k holds row r's values
//	     4k..4k+3. A run of 4 (2176 bytes): the 4 positions' d at 32j,
//	     then position j's piece k at 128+512j+64k, every load aligned
//	     (the same reasons as q4_0's runs; runs of 8 would step over a
//	     page per load instruction).
//	q4_k (144 bytes, 2304 per position): d (2), dmin (2), the 12 bytes of
//	     scales and mins as 3 dwords (4 each), then the 128 bytes of
//	     nibbles as 32 dwords (4 each): dword i of a row holds values
//	     4(i%8)..4(i%8)+3 of sub-block 2(i/8) in its low nibbles and of
//	     sub-block 2(i/8)+1 in its high ones.
//	q6_k (210 bytes, 3360 per position): d (2, at 208); the 16 int8
//	     scales as 4 dwords (4 each, scales 4j..4j+3 in dword j); then
//	     for h = 0, 1 and k = 0..7 the dwords ql[64h+4k], ql[64h+32+4k]
//	     and qh[32h+4k] (4 each): the low bits of values 128h+4k..,
//	     128h+32+4k.., 128h+64+4k.. and 128h+96+4k.. (ql's low nibbles,
//	     then high ones) and the four values' two high bits (see
//	     repack_q6k.go). A run of 2 (6720 bytes): the 2 positions' d at
//	     0 and 32, then position j's other pieces from 64+3328j, so that
//	     every 64-byte load is aligned (a lone position's are not).

// packRows is the number of rows a repacked group interleaves.
const packRows = 16

// piece is n bytes at offset off of every row's block.
type piece struct{ off, n int }

var (
	packPiecesQ4_0 = []piece{{0, 2}, {2, 4}, {6, 4}, {10, 4}, {14, 4}}
	packPiecesQ8_0 = []piece{{0, 2}, {2, 4}, {6, 4}, {10, 4}, {14, 4}, {18, 4}, {22, 4}, {26, 4}, {30, 4}}
	packPiecesQ4K  = func() []piece {
		ps := []piece{{0, 2}, {2, 2}, {4, 4}, {8, 4}, {12, 4}}
		for i := 0; i < 32; i++ {
			ps = append(ps, piece{16 + 4*i, 4})
		}
		return ps
	}()
	packPiecesQ6K = func() []piece {
		ps := []piece{{208, 2}, {192, 4}, {196, 4}, {200, 4}, {204, 4}}
		for h := 0; h < 2; h++ {
			for k := 0; k < 8; k++ {
				ps = append(ps, piece{64*h + 4*k, 4}, piece{64*h + 32 + 4*k, 4}, piece{128 + 32*h + 4*k, 4})
			}
		}
		return ps
	}()
)

// packPieces returns t's pieces, or nil if t has no repacked layout.
func packPieces(t DType) []piece {
	switch t {
	case Q8_0:
		return packPiecesQ8_0
	case Q4_0:
		return packPiecesQ4_0
	case Q4_K:
		return packPiecesQ4K
	case Q5_K:
		return packPiecesQ5K
	case Q3_K:
		return packPiecesQ3K
	case Q6_K:
		return packPiecesQ6K
	}
	return packPiecesExt(t)
}

// packRun returns the first position and the length of the run holding
// block position b of a row of nb positions of type t (see above).
func packRun(t DType, b, nb int) (b0, k int) {
	switch {
	case (t == Q4_0 || t == Q5_0 || t == MXFP4) && b < nb&^7:
		return b &^ 7, 8
	case t == Q8_0 && b < nb&^3:
		return b &^ 3, 4
	case t == Q6_K && b < nb&^1:
		return b &^ 1, 2
	}
	return b, 1
}

// pieceAt returns the offset in its group of piece i (of t's pieces ps)
// of block position b of a row of nb positions.
func pieceAt(t DType, ps []piece, i, b, nb int) int {
	b0, k := packRun(t, b, nb)
	head := packRows * ps[0].n // the first piece of one position
	at := packRows*t.BlockBytes()*b0 + head*(b-b0)
	if i > 0 {
		at += head*(k-(b-b0)) + (packRows*t.BlockBytes()-head)*(b-b0)
		for _, pc := range ps[1:i] {
			at += packRows * pc.n
		}
	}
	return at
}

// Repack returns w in the layout the pool's kernels read fastest: a new
// matrix over a copy of the data, row-interleaved as described in
// repack.go, when the pool's kernel set has kernels for it (AVX-512 and
// AVX2: q8_0, q4_0, q4_k, q6_k, q5_k, q3_k, q4_1, q5_0, mxfp4 and iq4_xs;
// matrices of at least 16 rows); otherwise w itself. Products
// with a repacked matrix give bitwise the results of the original on
// every pool (a pool without such kernels reads its rows back first), so
// repacking is only a question of speed. The original data is not used
// by the result.
func (p *Pool) Repack(w Mat) Mat {
	if w.packed || w.Rows < packRows || w.Cols == 0 || !p.set.packedFor(w.Type) {
		return w
	}
	if _, err := w.size(); err != nil {
		return w
	}
	rb := w.RowBytes()
	out := w
	out.Data = make([]byte, len(w.Data))
	out.packed = true
	g16 := w.Rows &^ (packRows - 1)
	gb := packRows * rb
	// Groups spread over the workers, several per job item.
	const per = 8
	ng := g16 / packRows
	p.Parallel((ng+per-1)/per, func(i int) {
		lo, hi := i*per*gb, min((i+1)*per, ng)*gb
		packData(out.Data[lo:hi], w.Data[lo:hi], w.Type, rb)
	})
	copy(out.Data[g16*rb:], w.Data[g16*rb:])
	return out
}

// Repacked reports whether w is stored row-interleaved (Pool.Repack).
func (w Mat) Repacked() bool { return w.packed }

// packData interleaves whole groups of 16 rows of rb bytes (type t) from
// src into dst.
func packData(dst, src []byte, t DType, rb int) {
	bs := t.BlockBytes()
	ps := packPieces(t)
	gb := packRows * rb
	for g := 0; g+gb <= len(src); g += gb {
		grp, out := src[g:g+gb], dst[g:g+gb]
		for r := 0; r < packRows; r++ {
			row := grp[r*rb : (r+1)*rb]
			for b := 0; b < rb; b += bs {
				blk := row[b : b+bs]
				for i, pc := range ps {
					at := pieceAt(t, ps, i, b/bs, rb/bs)
					switch pc.n {
					case 1:
						out[at+r] = blk[pc.off]
					case 2:
						binary.LittleEndian.PutUint16(out[at+2*r:], binary.LittleEndian.Uint16(blk[pc.off:]))
					default:
						binary.LittleEndian.PutUint32(out[at+4*r:], binary.LittleEndian.Uint32(blk[pc.off:]))
					}
				}
			}
		}
	}
}

// unpackGroup writes the 16 rows of the group at src (16*rb bytes) in
// block layout to dst.
func unpackGroup(dst, src []byte, t DType, rb int) {
	for r := 0; r < packRows; r++ {
		unpackGroupRow(dst[r*rb:(r+1)*rb], src, t, rb, r)
	}
}

// unpackGroupRow writes row r of the group at src to dst in block layout.
func unpackGroupRow(dst, src []byte, t DType, rb, r int) {
	bs := t.BlockBytes()
	ps := packPieces(t)
	for b := 0; b < rb; b += bs {
		for i, pc := range ps {
			at := pieceAt(t, ps, i, b/bs, rb/bs)
			copy(dst[b+pc.off:b+pc.off+pc.n], src[at+r*pc.n:])
		}
	}
}

// unpackRow writes row r (in an interleaved group) of the repacked m to
// dst in block layout.
func unpackRow(dst []byte, m Mat, r int) {
	rb := m.RowBytes()
	g := r / packRows * packRows
	unpackGroupRow(dst, m.Data[g*rb:(g+packRows)*rb], m.Type, rb, r-g)
}
