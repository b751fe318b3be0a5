//go:build !amd64 && !arm64

package kernels

func archSet(Impl) *kernelSet { return nil }
