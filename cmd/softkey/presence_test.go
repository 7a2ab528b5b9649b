package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/softkeydev/softkey/authenticator"
)

// pipeTerm is a terminal made of a pipe: the test types into in, the
// prompt reads from the pipe's read end and writes the question to out.
type pipeTerm struct {
	*os.File // read end: Read and SetReadDeadline
	in       *os.File

	mu      sync.Mutex
	out     bytes.Buffer
	written chan struct{} // closed on the first write
	once    sync.Once
}

func newPipeTerm(t *testing.T) *pipeTerm {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close(); w.Close() })
	return &pipeTerm{File: r, in: w, written: make(chan struct{})}
}

func (p *pipeTerm) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.once.Do(func() { close(p.written) })
	return p.out.Write(b)
}

func (p *pipeTerm) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

func (p *pipeTerm) typeLine(t *testing.T, s string) {
	t.Helper()
	if _, err := p.in.WriteString(s); err != nil {
		t.Fatal(err)
	}
}

var registerAlice = authenticator.PresenceRequest{Operation: "register", RPID: "example.org", UserName: "alice"}

func TestPromptPresenceAnswers(t *testing.T) {
	tests := []struct {
		typed string
		want  error
	}{
		{"y\n", nil},
		{"Y\n", nil},
		{"yes\n", nil},
		{" yes \r\n", nil},
		{"n\n", authenticator.ErrPresenceDenied},
		{"\n", authenticator.ErrPresenceDenied},
		{"maybe\n", authenticator.ErrPresenceDenied},
		{"yess\n", authenticator.ErrPresenceDenied},
	}
	for _, tt := range tests {
		t.Run(strings.TrimSpace(tt.typed), func(t *testing.T) {
			term := newPipeTerm(t)
			p := &promptPresence{term: term, timeout: 10 * time.Second}
			term.typeLine(t, tt.typed)
			err := p.RequestPresence(context.Background(), registerAlice)
			if !errors.Is(err, tt.want) {
				t.Errorf("typed %q: got %v, want %v", tt.typed, err, tt.want)
			}
			const question = "softkey: touch requested to register at example.org for alice — approve? [y/N] "
			if got := term.output(); !strings.HasPrefix(got, question) {
				t.Errorf("prompt = %q, want prefix %q", got, question)
			}
		})
	}
}

func TestPromptPresenceEndOfInputDenies(t *testing.T) {
	term := newPipeTerm(t)
	p := &promptPresence{term: term, timeout: 10 * time.Second}
	term.in.Close()
	err := p.RequestPresence(context.Background(), registerAlice)
	if !errors.Is(err, authenticator.ErrPresenceDenied) {
		t.Errorf("closed input: got %v, want %v", err, authenticator.ErrPresenceDenied)
	}
}

func TestPromptPresenceTimeout(t *testing.T) {
	term := newPipeTerm(t)
	p := &promptPresence{term: term, timeout: 50 * time.Millisecond}
	start := time.Now()
	err := p.RequestPresence(context.Background(), registerAlice)
	if !errors.Is(err, authenticator.ErrPresenceTimeout) {
		t.Fatalf("no answer: got %v, want %v", err, authenticator.ErrPresenceTimeout)
	}
	if errors.Is(err, authenticator.ErrPresenceDenied) {
		t.Errorf("a timeout must not read as a denial: %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("timeout of 50ms took %v", d)
	}
	if !strings.Contains(term.output(), "timed out") {
		t.Errorf("prompt output %q does not say the request timed out", term.output())
	}

	// The deadline is reset: the next request waits for its own answer.
	p.timeout = 10 * time.Second
	term.typeLine(t, "y\n")
	if err := p.RequestPresence(context.Background(), registerAlice); err != nil {
		t.Errorf("request after a timeout: got %v, want approval", err)
	}
}

func TestPromptPresenceCancel(t *testing.T) {
	term := newPipeTerm(t)
	p := &promptPresence{term: term, timeout: time.Minute}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-term.written // the question is on the screen
		cancel()
	}()
	start := time.Now()
	err := p.RequestPresence(ctx, registerAlice)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled request: got %v, want %v", err, context.Canceled)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("cancel took %v to end the prompt", d)
	}

	// Already cancelled: no question at all.
	term2 := newPipeTerm(t)
	p2 := &promptPresence{term: term2, timeout: time.Minute}
	if err := p2.RequestPresence(ctx, registerAlice); !errors.Is(err, context.Canceled) {
		t.Errorf("request with a cancelled context: got %v, want %v", err, context.Canceled)
	}
	if out := term2.output(); out != "" {
		t.Errorf("cancelled request printed %q", out)
	}
}

func TestDescribePresence(t *testing.T) {
	tests := []struct {
		req  authenticator.PresenceRequest
		want string
	}{
		{registerAlice, "touch requested to register at example.org for alice"},
		{authenticator.PresenceRequest{Operation: "authenticate", RPID: "example.org"}, "touch requested to authenticate at example.org"},
		{authenticator.PresenceRequest{Operation: "reset"}, "touch requested to reset"},
		{authenticator.PresenceRequest{}, "touch requested"},
		{
			authenticator.PresenceRequest{Operation: "register", RPID: "evil.example", UserName: "bob\x1b[2J\r\n"},
			`touch requested to register at evil.example for bob\u001b[2J\u000d\u000a`,
		},
	}
	for _, tt := range tests {
		if got := describePresence(tt.req); got != tt.want {
			t.Errorf("describePresence(%+v) = %q, want %q", tt.req, got, tt.want)
		}
	}
	long := describePresence(authenticator.PresenceRequest{UserName: strings.Repeat("a", 1000)})
	if len(long) > 200 {
		t.Errorf("a 1000-character user name gives a %d-byte prompt", len(long))
	}
}

func TestDenyPresence(t *testing.T) {
	err := denyPresence{}.RequestPresence(context.Background(), registerAlice)
	if !errors.Is(err, authenticator.ErrPresenceDenied) {
		t.Errorf("deny: got %v, want %v", err, authenticator.ErrPresenceDenied)
	}
}

func TestPresenceFromFlag(t *testing.T) {
	for _, mode := range []string{presenceAuto, presenceDeny} {
		p, closeFn, err := presenceFromFlag(mode, time.Second)
		if err != nil {
			t.Fatalf("presenceFromFlag(%q): %v", mode, err)
		}
		closeFn()
		err = p.RequestPresence(context.Background(), registerAlice)
		if mode == presenceAuto && err != nil {
			t.Errorf("auto: got %v, want approval", err)
		}
		if mode == presenceDeny && !errors.Is(err, authenticator.ErrPresenceDenied) {
			t.Errorf("deny: got %v, want %v", err, authenticator.ErrPresenceDenied)
		}
	}
	if _, _, err := presenceFromFlag("sometimes", time.Second); err == nil {
		t.Error("presenceFromFlag(\"sometimes\") succeeded, want an error")
	}
	if _, _, err := presenceFromFlag(presencePrompt, 0); err == nil {
		t.Error("a zero prompt timeout was accepted")
	}
}
