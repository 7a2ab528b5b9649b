//go:build !linux

package pty

import "errors"

// Wire is a pseudo-terminal carrying CTAPHID reports; on this system it
// cannot be opened.
type Wire struct{}

var errUnsupported = errors.New("pty: pseudo-terminal wires are supported on Linux only")

// Open fails: pseudo-terminal wires are supported on Linux only.
func Open() (*Wire, error) { return nil, errUnsupported }

// Path returns the empty string.
func (w *Wire) Path() string { return "" }

// ReadReport fails.
func (w *Wire) ReadReport() ([]byte, error) { return nil, errUnsupported }

// WriteReport fails.
func (w *Wire) WriteReport([]byte) error { return errUnsupported }

// Close does nothing.
func (w *Wire) Close() error { return nil }
