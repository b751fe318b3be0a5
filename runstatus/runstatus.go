// Package runstatus is what `orbit run` reports on stdout as it runs: the
// ready line once it serves, the link-emulation acknowledgements of
// `orbit bench node`, and the stopping and stopped lines of a graceful
// exit. A Writer prints them for people (the default: one text line each,
// `ready peer=... addrs=...`) or, with `orbit run --status-json`, as one
// JSON object a line with an "event" field; programs (the bench, scripts)
// read the JSON with Decode instead of scraping the text.
package runstatus

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
)

// Event names, the "event" field of every JSON line.
const (
	EventReady    = "ready"
	EventLinks    = "links"
	EventStopping = "stopping"
	EventStopped  = "stopped"
)

// Ready: the node joined the swarm and serves its span.
type Ready struct {
	Peer  string   `json:"peer"`
	Addrs []string `json:"addrs"`
	// Model is the root CID of the model served.
	Model string `json:"model"`
	// Start and End are the blocks [Start, End) served; both 0 for an
	// entry node serving none.
	Start int `json:"start"`
	End   int `json:"end"`
	// Throughput is the node's measured tokens/s through one block.
	Throughput float64 `json:"throughput"`
	// Peers counts the peers connected.
	Peers int `json:"peers"`
	// API is the URL of the node's HTTP API; "" when it serves none.
	API string `json:"api,omitempty"`
}

// Links acknowledges a reload of the link-emulation file (`orbit bench
// node`): the generation now in force and the region pairs cut, or the
// error that kept the file from loading.
type Links struct {
	Generation uint64      `json:"generation"`
	Cut        [][2]string `json:"cut,omitempty"`
	Error      string      `json:"error,omitempty"`
}

// Stopped: the node drained and left; SessionsCut sessions were still
// running at the end of the drain.
type Stopped struct {
	SessionsCut int `json:"sessions_cut"`
}

// Writer prints status events, one line each, as text or as JSON; it is
// safe for concurrent use.
type Writer struct {
	mu   sync.Mutex
	w    io.Writer
	json bool
}

// NewWriter returns a Writer to w: JSON lines when asJSON, text otherwise.
func NewWriter(w io.Writer, asJSON bool) *Writer { return &Writer{w: w, json: asJSON} }

// Ready prints the ready event: as text,
//
//	ready peer=<ID> addrs=<a,b> model=<CID> span=[a,b) throughput=<t> peers=<n> api=<URL|off>
func (w *Writer) Ready(r Ready) error {
	api := r.API
	if api == "" {
		api = "off"
	}
	return w.print(EventReady, r, fmt.Sprintf("ready peer=%s addrs=%s model=%s span=[%d,%d) throughput=%.1f peers=%d api=%s",
		r.Peer, strings.Join(r.Addrs, ","), r.Model, r.Start, r.End, r.Throughput, r.Peers, api))
}

// Links prints a link-emulation acknowledgement: as text, `links
// generation=N cut=a|b,c|d` (cut=- when nothing is cut), or `links
// error="..."`.
func (w *Writer) Links(l Links) error {
	if l.Error != "" {
		return w.print(EventLinks, Links{Error: l.Error}, fmt.Sprintf("links error=%q", l.Error))
	}
	cut := "-"
	if len(l.Cut) > 0 {
		pairs := make([]string, len(l.Cut))
		for i, p := range l.Cut {
			pairs[i] = p[0] + "|" + p[1]
		}
		cut = strings.Join(pairs, ",")
	}
	return w.print(EventLinks, l, fmt.Sprintf("links generation=%d cut=%s", l.Generation, cut))
}

// Stopping prints that the node stops taking sessions and drains.
func (w *Writer) Stopping() error { return w.print(EventStopping, struct{}{}, "stopping") }

// Stopped prints that the node has drained.
func (w *Writer) Stopped(s Stopped) error {
	return w.print(EventStopped, s, fmt.Sprintf("stopped sessions_cut=%d", s.SessionsCut))
}

func (w *Writer) print(event string, v any, text string) error {
	line := []byte(text)
	if w.json {
		var err error
		if line, err = encode(event, v); err != nil {
			return err
		}
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	_, err := w.w.Write(append(line, '\n'))
	return err
}

// encode is v's JSON object with "event" first.
func encode(event string, v any) ([]byte, error) {
	body, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("runstatus: %s: %w", event, err)
	}
	ev, _ := json.Marshal(event)
	out := append([]byte(`{"event":`), ev...)
	if len(body) > 2 { // not "{}"
		out = append(append(out, ','), body[1:]...)
	} else {
		out = append(out, '}')
	}
	return out, nil
}

// ErrNotStatus is wrapped by Decode's errors for lines that are not a
// status event.
var ErrNotStatus = errors.New("runstatus: not a status line")

// maxLine caps a status line Decode reads.
const maxLine = 1 << 20

// Decode reads one JSON status line: it returns a Ready, Links, Stopped,
// or for "stopping" a nil value with its event name.
func Decode(line []byte) (event string, v any, err error) {
	line = bytes.TrimSpace(line)
	if len(line) > maxLine {
		return "", nil, fmt.Errorf("%w: %d bytes", ErrNotStatus, len(line))
	}
	if len(line) == 0 || line[0] != '{' {
		return "", nil, ErrNotStatus
	}
	var head struct {
		Event string `json:"event"`
	}
	if err := json.Unmarshal(line, &head); err != nil {
		return "", nil, fmt.Errorf("%w: %w", ErrNotStatus, err)
	}
	switch head.Event {
	case EventReady:
		var r Ready
		if err := unmarshal(line, &r); err != nil {
			return "", nil, err
		}
		if r.Peer == "" || len(r.Addrs) == 0 {
			return "", nil, fmt.Errorf("runstatus: ready without peer and addrs: %s", line)
		}
		return head.Event, r, nil
	case EventLinks:
		var l Links
		if err := unmarshal(line, &l); err != nil {
			return "", nil, err
		}
		return head.Event, l, nil
	case EventStopped:
		var s Stopped
		if err := unmarshal(line, &s); err != nil {
			return "", nil, err
		}
		return head.Event, s, nil
	case EventStopping:
		return head.Event, nil, nil
	}
	return "", nil, fmt.Errorf("%w: event %q", ErrNotStatus, head.Event)
}

func unmarshal(line []byte, v any) error {
	if err := json.Unmarshal(line, v); err != nil {
		return fmt.Errorf("runstatus: %w", err)
	}
	return nil
}
