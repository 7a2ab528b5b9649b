package tunnel

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/coder/websocket"
)

// TestLastMessagesReachPeer has one side send messages and close at once,
// over and over: the server must write every queued message to the peer
// before it closes the peer's connection (the desktop's shutdown message,
// hybrid-cable.md §7.2, is the last thing it sends).
func TestLastMessagesReachPeer(t *testing.T) {
	ts := startServer(t, Config{})
	for i := range 30 {
		id := fmt.Sprintf("%032x", i+1)
		phone := dial(t, ts.newURL(id))
		desktop := dial(t, ts.connectURL("000000", id))
		from, to := desktop, phone
		if i%2 == 1 {
			from, to = phone, desktop
		}
		var sent [][]byte
		for j := range 3 {
			msg := bytes.Repeat([]byte{byte(i), byte(j)}, 100*(j+1))
			write(t, from, msg)
			sent = append(sent, msg)
		}
		if err := from.Close(); err != nil {
			t.Fatalf("round %d: Close: %v", i, err)
		}
		for j, want := range sent {
			if got := read(t, to); !bytes.Equal(got, want) {
				t.Fatalf("round %d: message %d is %d bytes, want %d", i, j, len(got), len(want))
			}
		}
		if code, _ := readClosed(t, to); code != int(websocket.StatusNormalClosure) {
			t.Fatalf("round %d: peer close code = %d, want 1000", i, code)
		}
		ts.log.waitLog(t, "tunnel: closed")
	}
}
