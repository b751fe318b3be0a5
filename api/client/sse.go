package client

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"

	"github.com/orbitswarm/orbit/api"
)

// maxEvent caps one server-sent event.
const maxEvent = 1 << 20

// ReadEvents reads server-sent events from r and passes the data of each to
// fn, until "data: [DONE]". An event carrying an OpenAI error object is
// returned as an *Error; a stream that ends before [DONE] gives ErrNoDone.
func ReadEvents(r io.Reader, fn func(data []byte) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxEvent)
	var data []byte
	have := false
	dispatch := func() error {
		if !have {
			return nil
		}
		d := data
		data, have = data[:0:0], false
		if bytes.Equal(d, []byte("[DONE]")) {
			return io.EOF
		}
		if bytes.HasPrefix(bytes.TrimSpace(d), []byte(`{"error"`)) {
			var eb api.ErrorBody
			if err := json.Unmarshal(d, &eb); err == nil {
				return &Error{Status: 200, ErrorDetail: eb.Error}
			}
		}
		return fn(d)
	}
	for sc.Scan() {
		line := sc.Bytes()
		if len(line) == 0 {
			if err := dispatch(); err == io.EOF {
				return nil
			} else if err != nil {
				return err
			}
			continue
		}
		if line[0] == ':' { // comment
			continue
		}
		field, value, _ := bytes.Cut(line, []byte(":"))
		value = bytes.TrimPrefix(value, []byte(" "))
		if string(field) != "data" {
			continue // event, id, retry: not used
		}
		if have {
			data = append(data, '\n')
		}
		data = append(data, value...)
		if len(data) > maxEvent {
			return fmt.Errorf("client: an event is larger than %d bytes", maxEvent)
		}
		have = true
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("client: reading events: %w", err)
	}
	if err := dispatch(); err == io.EOF {
		return nil
	} else if err != nil {
		return err
	}
	return ErrNoDone
}
