package advert

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"
)

// maxSeen bounds the adverts a [UDPScanner] remembers to deliver each
// only once; when full it forgets them all.
const maxSeen = 1024

// UDPAdvertiser is an [Advertiser] over the local UDP channel: it sends
// the 20 bytes of service data as one datagram every Interval to Addr.
// The zero value sends to [DefaultAddr] every [DefaultInterval].
type UDPAdvertiser struct {
	// Addr is the scanner's UDP address; empty means [DefaultAddr].
	Addr string
	// Interval is the time between datagrams; zero means
	// [DefaultInterval].
	Interval time.Duration
}

// Advertise sends serviceData to a.Addr at once and then every
// a.Interval until ctx ends, then returns nil. Nobody listening is not an
// error: adverts are broadcasts.
func (a *UDPAdvertiser) Advertise(ctx context.Context, serviceData [Size]byte) error {
	addr := a.Addr
	if addr == "" {
		addr = DefaultAddr
	}
	interval := a.Interval
	if interval <= 0 {
		interval = DefaultInterval
	}
	dst, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return fmt.Errorf("resolving advert address %q: %w", addr, err)
	}
	// An unconnected socket: a connected one would report the ICMP
	// errors of a scanner not yet listening on the next write.
	conn, err := net.ListenUDP("udp", nil)
	if err != nil {
		return fmt.Errorf("opening advert socket: %w", err)
	}
	defer conn.Close()
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if _, err := conn.WriteToUDP(serviceData[:], dst); err != nil && ctx.Err() == nil {
			return fmt.Errorf("sending advert to %s: %w", dst, err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// UDPScanner is a [Scanner] over the local UDP channel. Make one with
// [ListenUDP]; it scans once.
type UDPScanner struct {
	conn   *net.UDPConn
	logger *slog.Logger

	mu      sync.Mutex
	started bool
}

// ListenUDP listens for adverts on the UDP address addr (empty means
// [DefaultAddr]; port 0 picks a free one, see [UDPScanner.Addr]). Logger
// receives a Debug line per dropped datagram; nil discards them.
func ListenUDP(addr string, logger *slog.Logger) (*UDPScanner, error) {
	if addr == "" {
		addr = DefaultAddr
	}
	la, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return nil, fmt.Errorf("resolving advert address %q: %w", addr, err)
	}
	conn, err := net.ListenUDP("udp", la)
	if err != nil {
		return nil, fmt.Errorf("listening for adverts: %w", err)
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &UDPScanner{conn: conn, logger: logger}, nil
}

// Addr returns the address s listens on, to give to a [UDPAdvertiser].
func (s *UDPScanner) Addr() string { return s.conn.LocalAddr().String() }

// Close stops s. It is needed only if [UDPScanner.Scan] was never called
// or failed; otherwise the end of Scan's context closes s.
func (s *UDPScanner) Close() error { return s.conn.Close() }

// Scan delivers each distinct 20-byte datagram once, in order of
// arrival, and drops datagrams of other sizes. The channel is closed and
// the socket released once ctx ends. Scan may be called only once.
func (s *UDPScanner) Scan(ctx context.Context) (<-chan [Size]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started {
		return nil, errors.New("advert scanner already scanning")
	}
	s.started = true
	ch := make(chan [Size]byte)
	stop := context.AfterFunc(ctx, func() { s.conn.Close() })
	go func() {
		defer close(ch)
		defer stop()
		defer s.conn.Close()
		s.receive(ctx, ch)
	}()
	return ch, nil
}

// receive reads datagrams until the socket fails or ctx ends.
func (s *UDPScanner) receive(ctx context.Context, ch chan<- [Size]byte) {
	seen := make(map[[Size]byte]struct{})
	// One byte more than an advert, so that longer datagrams show.
	buf := make([]byte, Size+1)
	for {
		n, from, err := s.conn.ReadFromUDP(buf)
		if err != nil {
			if ctx.Err() == nil {
				s.logger.Debug("advert scan stopped", "err", err)
			}
			return
		}
		if n != Size {
			s.logger.Debug("dropping advert", "from", from, "size", n, "want", Size)
			continue
		}
		var sd [Size]byte
		copy(sd[:], buf[:n])
		if _, ok := seen[sd]; ok {
			continue
		}
		if len(seen) >= maxSeen {
			clear(seen)
		}
		seen[sd] = struct{}{}
		select {
		case ch <- sd:
		case <-ctx.Done():
			return
		}
	}
}
