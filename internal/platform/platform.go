// Package platform holds the few operating-system services Orbit needs
// whose system calls differ between Unix and Windows: read-only memory
// maps of model files, the free space of a file system and the signal
// that asks a process to reload (file locks are internal/filelock's).
// Every function has a Unix variant (Linux, macOS, the BSDs), a Windows
// variant and, where the platform has nothing better, a portable
// fallback, so the orbit binary builds for any GOOS with CGO_ENABLED=0.
package platform
