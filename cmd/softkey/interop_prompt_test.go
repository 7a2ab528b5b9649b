package main

// --presence prompt end to end: softkey runs with a pseudo-terminal as its
// controlling terminal, libfido2's fido2-cred asks for a registration, and
// the test answers the question on that terminal.

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestPresencePromptOnTerminal(t *testing.T) {
	requireTool(t, "fido2-cred")
	term := openTerminal(t)
	k := startKeyWith(t, nil, func(cmd *exec.Cmd) {
		cmd.Stdin = term.slave
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	}, "--transport", "pty", "--memory", "--presence", "prompt", "--presence-timeout", "5s")

	tests := []struct {
		name    string
		answer  string // typed at the prompt; empty: no answer
		wantErr string // fido2-cred's error, empty for success
		wantOut string // what softkey prints after the answer
	}{
		{"approve", "y\n", "", ""},
		{"deny", "n\n", "FIDO_ERR_OPERATION_DENIED", "softkey: denied"},
		{"timeout", "", "FIDO_ERR_USER_ACTION_TIMEOUT", "no answer within 5s, request timed out"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rpID := tt.name + ".example.org"
			param := fmt.Sprintf("%s\n%s\nalice\n%s\n", b64(sha256Sum(rpID)), rpID, b64(randomBytes(t, 16)))
			paramFile := writeFile(t, t.TempDir(), "param", []byte(param))
			type result struct {
				stderr []byte
				err    error
			}
			done := make(chan result, 1)
			go func() {
				_, errOut, err := tryTool(t, nil, nil, "fido2-cred", "-M", "-q", "-i", paramFile, k.path())
				done <- result{errOut, err}
			}()

			question := "softkey: touch requested to register at " + rpID + " for alice — approve? [y/N] "
			mark := term.waitFor(t, question, 0)
			if tt.answer != "" {
				if _, err := term.master.WriteString(tt.answer); err != nil {
					t.Fatal(err)
				}
			}
			var r result
			select {
			case r = <-done:
			case <-time.After(toolTimeout + 10*time.Second):
				t.Fatal("fido2-cred did not finish")
			}
			switch {
			case tt.wantErr == "" && r.err != nil:
				t.Errorf("fido2-cred -M, answered %q: %v\n%s", tt.answer, r.err, r.stderr)
			case tt.wantErr != "" && r.err == nil:
				t.Errorf("fido2-cred -M succeeded, answered %q; want %s", tt.answer, tt.wantErr)
			case tt.wantErr != "" && !strings.Contains(string(r.stderr), tt.wantErr):
				t.Errorf("fido2-cred -M, answered %q: %v\n%s\nwant %s", tt.answer, r.err, r.stderr, tt.wantErr)
			}
			if tt.wantOut != "" {
				term.waitFor(t, tt.wantOut, mark)
			}
		})
	}
}

// ptyTerminal is a pseudo-terminal pair: the slave becomes softkey's
// controlling terminal, the test reads and types on the master.
type ptyTerminal struct {
	master, slave *os.File
	out           syncBuffer
}

func openTerminal(t *testing.T) *ptyTerminal {
	t.Helper()
	master, slave := openPTY(t)
	term := &ptyTerminal{master: master, slave: slave}
	go func() {
		buf := make([]byte, 1024)
		for {
			n, err := master.Read(buf)
			term.out.Write(buf[:n])
			if err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() { slave.Close() })
	return term
}

// waitFor waits, at most 30 s, for s to appear on the terminal after byte
// offset from, and returns the offset just past it.
func (term *ptyTerminal) waitFor(t *testing.T, s string, from int) int {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		out := term.out.String()
		if i := strings.Index(out[from:], s); i >= 0 {
			return from + i + len(s)
		}
		if time.Now().After(deadline) {
			t.Fatalf("the terminal never showed %q; it shows:\n%s", s, out)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
