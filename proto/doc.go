// Package proto will hold Orbit's protobuf definitions and the generated
// Go code (manifests, inference and block-exchange messages). Not
// implemented yet (issues 3 and 4).
package proto
