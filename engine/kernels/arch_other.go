//go:build !amd64

package kernels

func archSet(Impl) *kernelSet { return nil }
