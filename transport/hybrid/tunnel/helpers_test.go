package tunnel

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// recorder is a slog.Handler that hands every record to a channel, so
// tests wait for a log line instead of sleeping.
type recorder struct{ ch chan slog.Record }

func (r recorder) Enabled(context.Context, slog.Level) bool { return true }
func (r recorder) Handle(_ context.Context, rec slog.Record) error {
	select {
	case r.ch <- rec.Clone():
	default: // a test that does not read logs must not block the server
	}
	return nil
}
func (r recorder) WithAttrs([]slog.Attr) slog.Handler { return r }
func (r recorder) WithGroup(string) slog.Handler      { return r }

// waitLog returns the attributes of the next record with message msg.
func (r recorder) waitLog(t testing.TB, msg string) map[string]string {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case rec := <-r.ch:
			if rec.Message != msg {
				continue
			}
			attrs := map[string]string{}
			rec.Attrs(func(a slog.Attr) bool {
				attrs[a.Key] = a.Value.String()
				return true
			})
			return attrs
		case <-timeout:
			t.Fatalf("no %q log line within 10s", msg)
			return nil
		}
	}
}

// fakeClock is a Clock whose timers fire only on Advance.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*fakeTimer
}

type fakeTimer struct {
	at      time.Time
	f       func()
	stopped bool
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Unix(1_700_000_000, 0)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) AfterFunc(d time.Duration, f func()) func() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	ft := &fakeTimer{at: c.now.Add(d), f: f}
	c.timers = append(c.timers, ft)
	return func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		was := !ft.stopped
		ft.stopped = true
		return was
	}
}

// Advance moves the time on and runs, in this goroutine, the timers that
// are due.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	var due []*fakeTimer
	keep := c.timers[:0]
	for _, ft := range c.timers {
		switch {
		case ft.stopped:
		case !ft.at.After(c.now):
			ft.stopped = true
			due = append(due, ft)
		default:
			keep = append(keep, ft)
		}
	}
	c.timers = keep
	c.mu.Unlock()
	for _, ft := range due {
		ft.f()
	}
}

// testServer is a Server behind httptest, with its log.
type testServer struct {
	*Server
	http *httptest.Server
	ws   string // ws://127.0.0.1:port
	log  recorder
}

func startServer(t testing.TB, cfg Config) *testServer {
	t.Helper()
	rec := recorder{ch: make(chan slog.Record, 1024)}
	cfg.Logger = slog.New(rec)
	s := NewServer(cfg)
	hs := httptest.NewServer(s)
	ts := &testServer{Server: s, http: hs, ws: "ws" + strings.TrimPrefix(hs.URL, "http"), log: rec}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		hs.Close()
	})
	return ts
}

func (ts *testServer) newURL(id string) string { return ts.ws + "/cable/new/" + id }
func (ts *testServer) connectURL(routing, id string) string {
	return ts.ws + "/cable/connect/" + routing + "/" + id
}

func dial(t testing.TB, url string) *Conn {
	t.Helper()
	c, err := Dial(context.Background(), url)
	if err != nil {
		t.Fatalf("Dial(%s): %v", url, err)
	}
	t.Cleanup(func() { c.ws.CloseNow() })
	return c
}

func read(t testing.TB, c *Conn) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	msg, err := c.Read(ctx)
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	return msg
}

func write(t testing.TB, c *Conn, msg []byte) {
	t.Helper()
	if err := c.Write(context.Background(), msg); err != nil {
		t.Fatalf("Write: %v", err)
	}
}

// readClosed reads until the connection closes and returns the status.
func readClosed(t testing.TB, c *Conn) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		_, err := c.Read(ctx)
		if err != nil {
			return CloseStatus(err), CloseReason(err)
		}
	}
}

// dialStatus returns the HTTP status a refused dial got.
func dialStatus(t testing.TB, url string, opts DialOptions) int {
	t.Helper()
	c, err := DialWith(context.Background(), url, opts)
	if err == nil {
		c.Close()
		t.Fatalf("DialWith(%s) succeeded, want a refusal", url)
	}
	de, ok := err.(*DialError)
	if !ok {
		t.Fatalf("DialWith(%s): %T %v, want *DialError", url, err, err)
	}
	return de.StatusCode
}

var _ http.Handler = (*Server)(nil)
