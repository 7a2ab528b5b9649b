package authenticator

import (
	"context"
	"slices"
	"sync"
)

// UVScript is a Verifier whose outcomes are told in advance, for tests and
// the command line. Queued outcomes are used one per verification, in
// order; with the queue empty every verification has the default
// outcome, which for the zero value is a match. It is safe for concurrent
// use.
type UVScript struct {
	mu       sync.Mutex
	queue    []bool
	fail     bool // the default outcome is a no-match
	requests []VerifyRequest
}

// Next queues outcomes: true recognises the user, false does not.
func (s *UVScript) Next(outcomes ...bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.queue = append(s.queue, outcomes...)
}

// SetDefault sets the outcome used when the queue is empty.
func (s *UVScript) SetDefault(pass bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail = !pass
}

// uvScriptMemory is how many requests a UVScript remembers, so that a
// long-running key does not grow without bound.
const uvScriptMemory = 64

// Requests returns the verifications asked for so far, oldest first: the
// most recent 64.
func (s *UVScript) Requests() []VerifyRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

// VerifyUser takes the next outcome: nil for a match, ErrUVNoMatch for
// none, or ctx's error when it is already done (no outcome is used).
func (s *UVScript) VerifyUser(ctx context.Context, req VerifyRequest) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = append(s.requests, req)
	if len(s.requests) > uvScriptMemory {
		s.requests = slices.Delete(s.requests, 0, len(s.requests)-uvScriptMemory)
	}
	pass := !s.fail
	if len(s.queue) > 0 {
		pass, s.queue = s.queue[0], s.queue[1:]
	}
	if !pass {
		return ErrUVNoMatch
	}
	return nil
}
