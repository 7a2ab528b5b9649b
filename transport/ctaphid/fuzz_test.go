package ctaphid

import (
	"bytes"
	"context"
	"io"
	"sync"
	"testing"
	"time"
)

// recordingWire keeps what a server writes; it is never read from.
type recordingWire struct {
	mu      sync.Mutex
	reports [][]byte
}

func (w *recordingWire) ReadReport() ([]byte, error) { return nil, io.EOF }

func (w *recordingWire) WriteReport(report []byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.reports = append(w.reports, bytes.Clone(report))
	return nil
}

// fuzzHandler answers at once, sometimes with answers the server must
// replace.
type fuzzHandler struct{}

func (fuzzHandler) HandleCBOR(_ context.Context, msg []byte) []byte {
	switch msg[0] {
	case 0xFE:
		return nil
	case 0xFD:
		return make([]byte, MaxMessageSize+1)
	}
	return append([]byte{0}, msg[:min(len(msg), 200)]...)
}

func (fuzzHandler) HandleMessage(_ context.Context, apdu []byte) []byte {
	if apdu[0] == 0xFE {
		return []byte{1}
	}
	return append(bytes.Clone(apdu[:min(len(apdu), 300)]), 0x90, 0x00)
}

// joinFrames concatenates the reports of messages, for seeds.
func joinFrames(ms ...message) []byte {
	var out []byte
	for _, m := range ms {
		reports, err := split(m)
		if err != nil {
			panic("internal error: bad seed: " + err.Error())
		}
		for _, r := range reports {
			out = append(out, r...)
		}
	}
	return out
}

// FuzzAssemble feeds arbitrary report sequences to a server: it must not
// panic, and everything it writes must be well-formed CTAPHID messages.
// The first byte selects options: bit 0 U2F, bit 1 wait for each request
// before the next report, bit 2 a power cycle halfway, bit 3 pass a short
// last report as it is.
func FuzzAssemble(f *testing.F) {
	initMsg := message{cid: BroadcastCID, cmd: CmdInit, data: []byte("12345678")}
	f.Add(byte(0), joinFrames(initMsg))
	f.Add(byte(1), joinFrames(initMsg, message{cid: 1, cmd: CmdCBOR, data: []byte{4}}, message{cid: 1, cmd: CmdMsg, data: []byte{0, 3, 0, 0}}))
	f.Add(byte(2), joinFrames(initMsg, initMsg, message{cid: 1, cmd: CmdPing, data: make([]byte, 300)}, message{cid: 2, cmd: CmdPing, data: []byte("x")}))
	f.Add(byte(0), joinFrames(initMsg, message{cid: 1, cmd: CmdLock, data: []byte{3}}, message{cid: 1, cmd: CmdCancel}, message{cid: 1, cmd: CmdWink}))
	f.Add(byte(4), joinFrames(initMsg, message{cid: 1, cmd: CmdCBOR, data: []byte{0xFD}}, message{cid: 1, cmd: CmdCBOR, data: []byte{0xFE}}))
	f.Add(byte(8), append(joinFrames(initMsg), 0, 0, 0, 1, 0x81))
	f.Add(byte(0), joinFrames(initMsg, message{cid: 1, cmd: 0x66, data: []byte{1}}, message{cid: 0, cmd: CmdPing}))
	long := joinFrames(initMsg, message{cid: 1, cmd: CmdPing, data: make([]byte, 1000)})
	f.Add(byte(2), append(long[:5*ReportSize:5*ReportSize], long[7*ReportSize:]...)) // skipped sequence

	f.Fuzz(func(t *testing.T, options byte, stream []byte) {
		w := &recordingWire{}
		s := NewServer(Config{
			Handler:           fuzzHandler{},
			U2F:               options&1 != 0,
			MsgTimeout:        time.Hour,
			KeepaliveInterval: MaxKeepaliveInterval,
			Rand:              &counterRand{},
		})
		sess, err := s.open(context.Background(), w)
		if err != nil {
			t.Fatal(err)
		}
		half := len(stream) / ReportSize / 2
		for i := 0; len(stream) > 0; i++ {
			report := stream[:min(ReportSize, len(stream))]
			stream = stream[len(report):]
			if len(report) < ReportSize && options&8 == 0 {
				report = append(report, make([]byte, ReportSize-len(report))...)
			}
			if i == half && options&4 != 0 {
				s.Reset()
			}
			sess.handle(report)
			if options&2 != 0 {
				sess.requests.Wait()
			}
		}
		sess.requests.Wait()
		sess.close()
		checkReports(t, w.reports)
	})
}

// checkReports checks that reports a device wrote form whole, well-formed
// messages on each channel.
func checkReports(t *testing.T, reports [][]byte) {
	t.Helper()
	inProgress := make(map[uint32]*assembler)
	for i, r := range reports {
		p, ok := parsePacket(r)
		if !ok {
			t.Fatalf("report %d has %d bytes", i, len(r))
		}
		asm := inProgress[p.cid]
		if asm == nil {
			asm = new(assembler)
			inProgress[p.cid] = asm
		}
		if !p.init {
			if !asm.active {
				t.Fatalf("report %d: continuation on channel %08x without a message", i, p.cid)
			}
			if _, _, err := asm.add(p); err != nil {
				t.Fatalf("report %d: %v", i, err)
			}
			continue
		}
		if asm.active {
			t.Fatalf("report %d: %s on channel %08x interrupts an incomplete %s", i, p.cmd, p.cid, asm.cmd)
		}
		switch p.cmd {
		case CmdError:
			if p.size != 1 {
				t.Fatalf("report %d: ERROR of %d bytes", i, p.size)
			}
			switch p.data[0] {
			case 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x0B, 0x7F:
			default:
				t.Fatalf("report %d: ERROR code %#x", i, p.data[0])
			}
		case CmdKeepalive:
			if p.size != 1 || p.data[0] != 1 && p.data[0] != 2 {
				t.Fatalf("report %d: KEEPALIVE % x", i, p.data[:p.size])
			}
		case CmdInit:
			if p.size != 17 {
				t.Fatalf("report %d: INIT answer of %d bytes", i, p.size)
			}
		case CmdLock, CmdWink:
			if p.size != 0 {
				t.Fatalf("report %d: %s answer of %d bytes", i, p.cmd, p.size)
			}
		case CmdCBOR:
			if p.size == 0 {
				t.Fatalf("report %d: empty CBOR answer", i)
			}
		case CmdMsg:
			if p.size < 2 {
				t.Fatalf("report %d: MSG answer of %d bytes", i, p.size)
			}
		case CmdPing:
		default:
			t.Fatalf("report %d: device sent command %s", i, p.cmd)
		}
		if _, _, err := asm.start(p); err != nil {
			t.Fatalf("report %d: %v", i, err)
		}
	}
	for cid, asm := range inProgress {
		if asm.active {
			t.Fatalf("channel %08x: %s answer left incomplete", cid, asm.cmd)
		}
	}
}

// FuzzSplitAssemble checks that splitting a message and reassembling its
// reports gives the message back (as OpenSK's fuzz_target_split_assemble).
func FuzzSplitAssemble(f *testing.F) {
	f.Add(uint32(1), byte(CmdCBOR), []byte{4})
	f.Add(BroadcastCID, byte(CmdInit), []byte("12345678"))
	f.Add(uint32(0xCAFEBABE), byte(CmdPing), make([]byte, 1000))
	f.Add(uint32(7), byte(0xFF), make([]byte, MaxMessageSize))
	f.Add(uint32(7), byte(CmdMsg), make([]byte, MaxMessageSize+1))
	f.Fuzz(func(t *testing.T, cid uint32, cmd byte, data []byte) {
		in := message{cid: cid, cmd: Command(cmd &^ initBit), data: data}
		reports, err := split(in)
		if len(data) > MaxMessageSize {
			if err == nil {
				t.Fatalf("split accepted %d bytes", len(data))
			}
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		var asm assembler
		var out message
		var done bool
		for i, r := range reports {
			if done {
				t.Fatalf("message complete before report %d of %d", i, len(reports))
			}
			p, ok := parsePacket(r)
			if !ok {
				t.Fatalf("report %d has %d bytes", i, len(r))
			}
			if i == 0 {
				out, done, err = asm.start(p)
			} else {
				out, done, err = asm.add(p)
			}
			if err != nil {
				t.Fatalf("report %d: %v", i, err)
			}
		}
		if !done {
			t.Fatal("message incomplete after the last report")
		}
		if out.cid != in.cid || out.cmd != in.cmd || !bytes.Equal(out.data, in.data) {
			t.Fatalf("round trip gave channel %08x %s %d bytes, want %08x %s %d bytes", out.cid, out.cmd, len(out.data), in.cid, in.cmd, len(in.data))
		}
	})
}
