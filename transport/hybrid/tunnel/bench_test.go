package tunnel

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// BenchmarkTunnelLoad opens 1,000 tunnel pairs on loopback at once, has
// each exchange messages both ways, closes them and shuts the server
// down. It reports the heap per open tunnel (server and both clients, all
// in this process), the goroutines per open tunnel and those left after
// close, which should be 0.
func BenchmarkTunnelLoad(b *testing.B) {
	const (
		pairs  = 1000
		rounds = 10
		size   = 256
	)
	for b.Loop() {
		m := runLoad(b, pairs, rounds, size)
		b.ReportMetric(m.heapPerTunnel, "heap-B/tunnel")
		b.ReportMetric(m.goroutinesPerTunnel, "goroutines/tunnel")
		b.ReportMetric(float64(m.goroutinesAfter), "goroutines-after-close")
		b.ReportMetric(float64(pairs*rounds*2)/m.exchange.Seconds(), "msgs/s")
	}
}

type loadMetrics struct {
	heapPerTunnel       float64
	goroutinesPerTunnel float64
	goroutinesAfter     int
	exchange            time.Duration
}

func runLoad(b *testing.B, pairs, rounds, size int) loadMetrics {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()

	runtime.GC()
	baseG := runtime.NumGoroutine()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)

	s := NewServer(Config{MaxTunnels: pairs})
	hs := httptest.NewServer(s)
	ws := "ws" + strings.TrimPrefix(hs.URL, "http")

	var (
		connected sync.WaitGroup // every pair open and one round done
		finished  sync.WaitGroup
		measured  = make(chan struct{})
		errs      = make(chan error, pairs)
		dialSlots = make(chan struct{}, 64) // dials in flight
	)
	connected.Add(pairs)
	finished.Add(pairs)
	for i := range pairs {
		go func() {
			defer finished.Done()
			once := sync.OnceFunc(connected.Done)
			defer once()
			if err := runPair(ctx, client, ws, i, rounds, size, dialSlots, once, measured); err != nil {
				errs <- fmt.Errorf("pair %d: %w", i, err)
			}
		}()
	}
	connected.Wait()
	runtime.GC()
	var peak runtime.MemStats
	runtime.ReadMemStats(&peak)
	peakG := runtime.NumGoroutine()
	open := s.Tunnels()
	start := time.Now()
	close(measured)
	finished.Wait()
	exchange := time.Since(start)
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	if open != pairs {
		b.Fatalf("%d tunnels open at the peak, want %d", open, pairs)
	}

	if err := s.Shutdown(ctx); err != nil {
		b.Fatal(err)
	}
	hs.Close()
	client.CloseIdleConnections()
	after := waitGoroutines(baseG)
	return loadMetrics{
		heapPerTunnel:       float64(int64(peak.HeapAlloc)-int64(before.HeapAlloc)) / float64(pairs),
		goroutinesPerTunnel: float64(peakG-baseG-pairs) / float64(pairs), // less the pairs' own goroutines
		goroutinesAfter:     after - baseG,
		exchange:            exchange,
	}
}

// runPair connects a phone and a desktop through tunnel i, exchanges a
// round, reports connected, waits for measured, exchanges the remaining
// rounds, and closes.
func runPair(ctx context.Context, client *http.Client, ws string, i, rounds, size int,
	dialSlots chan struct{}, connected func(), measured <-chan struct{}) error {
	var id [TunnelIDSize]byte
	binary.BigEndian.PutUint64(id[8:], uint64(i))
	tid := hex.EncodeToString(id[:])
	opts := DialOptions{HTTPClient: client}

	dialSlots <- struct{}{}
	phone, err := DialWith(ctx, ws+"/cable/new/"+tid, opts)
	if err != nil {
		<-dialSlots
		return err
	}
	defer phone.ws.CloseNow()
	desktop, err := DialWith(ctx, ws+"/cable/connect/000000/"+tid, opts)
	<-dialSlots
	if err != nil {
		return err
	}
	defer desktop.ws.CloseNow()

	msg := bytes.Repeat([]byte{byte(i)}, size)
	for r := range rounds {
		if r == 1 {
			connected()
			<-measured
		}
		for _, dir := range [2][2]*Conn{{phone, desktop}, {desktop, phone}} {
			if err := dir[0].Write(ctx, msg); err != nil {
				return err
			}
			got, err := dir[1].Read(ctx)
			if err != nil {
				return err
			}
			if !bytes.Equal(got, msg) {
				return fmt.Errorf("round %d: got %d bytes, not what was sent", r, len(got))
			}
		}
	}
	if err := desktop.Close(); err != nil {
		return err
	}
	if _, err := phone.Read(ctx); CloseStatus(err) != 1000 {
		return fmt.Errorf("phone after the desktop closed: %v, want close 1000", err)
	}
	return nil
}
