// Package node composes an Orbit node: libp2p host, DHT, weight store,
// engine and local API, with their configuration and lifecycle.
//
// It is empty until the swarm work (issue 4) lands; today a model runs in a
// single process through package engine and `orbit generate`.
package node
