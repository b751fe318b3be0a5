// Package enum reads back the names of Orbit's enum-like types. Such a type
// names its values with String; its ParseX function and UnmarshalText
// method are built on Parse and Unmarshal here, so that every type reads
// its names the same way and leaves a value unchanged on bad text.
package enum

import (
	"fmt"
	"strconv"
	"strings"
)

// Parse returns the value among all whose String is s. what names the kind
// of value in the error ("protocol: block status").
func Parse[T fmt.Stringer](what, s string, all ...T) (T, error) {
	names := make([]string, len(all))
	for i, v := range all {
		if names[i] = v.String(); names[i] == s {
			return v, nil
		}
	}
	var zero T
	return zero, fmt.Errorf("%s %s: want %s", what, strconv.Quote(s), strings.Join(names, ", "))
}

// Unmarshal sets *dst to what parse reads from text, and leaves *dst as it
// was when parse fails: the body of an UnmarshalText method.
func Unmarshal[T any](dst *T, text []byte, parse func(string) (T, error)) error {
	v, err := parse(string(text))
	if err == nil {
		*dst = v
	}
	return err
}
