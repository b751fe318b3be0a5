//go:build amd64

package kernels

// The amd64 row kernels of the later types; the generic ones where there
// is no assembly yet.
var (
	avx2Ext   = genericExt
	avx512Ext = genericExt
)
