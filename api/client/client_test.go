package client

import (
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/orbitswarm/orbit/api"
)

func TestReadEvents(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     []string
		err      error // errors.Is target; nil for success
		apiErr   bool
	}{
		{"two events", "data: {\"a\":1}\n\ndata: {\"b\":2}\n\ndata: [DONE]\n\n", []string{`{"a":1}`, `{"b":2}`}, nil, false},
		{"no space, comments, other fields", ": ping\nevent: x\ndata:{}\nid: 3\n\ndata: [DONE]\n", []string{`{}`}, nil, false},
		{"multi-line data", "data: a\ndata: b\n\ndata: [DONE]\n\n", []string{"a\nb"}, nil, false},
		{"CRLF", "data: x\r\n\r\ndata: [DONE]\r\n\r\n", []string{"x"}, nil, false},
		{"no DONE", "data: x\n\n", []string{"x"}, ErrNoDone, false},
		{"empty", "", nil, ErrNoDone, false},
		{"error event", "data: {\"error\":{\"message\":\"boom\",\"type\":\"server_error\",\"param\":null,\"code\":null}}\n\n", nil, nil, true},
		{"DONE without blank line", "data: [DONE]", nil, nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			err := ReadEvents(iotest.OneByteReader(strings.NewReader(tc.in)), func(d []byte) error { got = append(got, string(d)); return nil })
			switch {
			case tc.apiErr:
				var e *Error
				if !errors.As(err, &e) || e.Message != "boom" {
					t.Fatalf("error %v, want the event's error", err)
				}
				return
			case tc.err != nil:
				if !errors.Is(err, tc.err) {
					t.Fatalf("error %v, want %v", err, tc.err)
				}
			case err != nil:
				t.Fatal(err)
			}
			if strings.Join(got, "|") != strings.Join(tc.want, "|") {
				t.Fatalf("events %q, want %q", got, tc.want)
			}
		})
	}
}

func TestReadEventsTooLarge(t *testing.T) {
	in := "data: " + strings.Repeat("x", maxEvent+10) + "\n\n"
	if err := ReadEvents(strings.NewReader(in), func([]byte) error { return nil }); err == nil {
		t.Fatal("no error for an oversized event")
	}
}

func TestCallbackErrorStops(t *testing.T) {
	stop := errors.New("enough")
	n := 0
	err := ReadEvents(strings.NewReader("data: 1\n\ndata: 2\n\ndata: [DONE]\n\n"), func([]byte) error { n++; return stop })
	if !errors.Is(err, stop) || n != 1 {
		t.Fatalf("%v after %d events", err, n)
	}
}

func TestErrorUnwrap(t *testing.T) {
	code, gap := "model_not_found", "coverage_gap"
	for _, tc := range []struct {
		e    *Error
		want error
	}{
		{&Error{Status: 404, ErrorDetail: api.ErrorDetail{Code: &code}}, api.ErrUnknownModel},
		{&Error{Status: 503}, api.ErrBusy},
		{&Error{Status: 503, ErrorDetail: api.ErrorDetail{Code: &gap}}, api.ErrCoverageGap},
		{&Error{Status: 400}, api.ErrBadRequest},
	} {
		if !errors.Is(tc.e, tc.want) {
			t.Errorf("%+v does not wrap %v", tc.e, tc.want)
		}
	}
}

func TestNew(t *testing.T) {
	for _, u := range []string{"", "127.0.0.1:7717", "ftp://x", "http://"} {
		if _, err := New(u); err == nil {
			t.Errorf("New(%q): no error", u)
		}
	}
	if _, err := New(DefaultURL); err != nil {
		t.Fatal(err)
	}
}

// FuzzReadEvents feeds arbitrary streams to the event decoder: it must end
// with an error or nil, never panic or hang.
func FuzzReadEvents(f *testing.F) {
	f.Add([]byte("data: {\"a\":1}\n\ndata: [DONE]\n\n"))
	f.Add([]byte("data: {\"error\":{\"message\":\"x\"}}\n\n"))
	f.Add([]byte(":\n\ndata\n\ndata:\n\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		_ = ReadEvents(io.MultiReader(strings.NewReader(string(in))), func(d []byte) error {
			if len(d) > maxEvent+1 {
				t.Fatalf("event of %d bytes", len(d))
			}
			return nil
		})
	})
}
