// Package layering holds no code: its test keeps the module's packages
// depending on each other in one direction (the node below its HTTP API,
// the weight store below the wire protocol, the production command apart
// from the benchmark harness).
package layering
