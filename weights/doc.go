// Package weights stores model weights content-addressed and moves them
// between peers.
//
// A model imported from a GGUF file is cut into chunks of at most 1 MiB per
// tensor; each chunk is a block named by a CIDv1 (raw codec, sha2-256) and
// kept in an on-disk blockstore under the node's data directory. Each
// transformer block gets a layer manifest listing its tensors and their
// chunk CIDs, stored as a block of its own (the "layer CID"); the GGUF
// metadata is stored as chunks too; a root manifest ties metadata, the
// non-block tensors (embedding, head, rope factors) and the layer CIDs
// together, and its CID is the model's id. Manifests are protobuf messages
// encoded deterministically, so the same file gives the same root CID on
// every machine.
//
// Manifests stay raw blocks (codec raw, protobuf inside), not dag-cbor or
// dag-pb: the decision (issue 15) is to keep one encoding, the typed and
// fuzzed protobuf that every node decodes anyway, and the root CIDs the
// swarm already names models by. The cost is that IPFS tools see no links
// in a CAR export: `ipfs dag import` stores and serves every block of the
// CAR, but pinning the root pins the root block alone, so whoever keeps an
// Orbit model in IPFS pins the CAR's blocks (all are listed in it), and
// traverses it with Orbit (orbit import of the GGUF that orbit export
// rebuilds, or orbit fetch), which reads the manifests' links itself. The
// swarm never needs IPLD traversal: nodes fetch a span's chunks by the
// layer CIDs they read from the manifests.
//
// Every read hashes the bytes again: a block whose bytes no longer match
// its CID is reported as a *CorruptError, removed from the store (OnCorrupt
// hooks are told, so that a node fetches it again) and never used;
// importing the same file again repairs such a store. Export rebuilds the
// original GGUF byte for byte; OpenSpan assembles (once, cached) a GGUF with
// the metadata and only the tensors of a span of blocks, ready for
// engine.Load. A Fetcher gets the blocks of a span from peers over the
// /orbit/blocks/1.0.0 protocol, verifying each block on arrival.
//
// A model split into several GGUF files (gguf-split) is one model: the root
// manifest records how its tensors were spread, so ExportFiles writes the
// same files again. ImportStream imports a model from its files' bytes as
// they arrive, chunks stored on the way, and PullHF uses it to download a
// GGUF from the Hugging Face hub straight into the store (or imports it
// from a local Hugging Face cache).
package weights
