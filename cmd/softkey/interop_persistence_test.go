package main

// Persistence through the real binary and libfido2's tools: credentials
// and counters survive a restart on the same vault, and a registration
// that returned success survives kill -9.

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestPersistenceAcrossRestart(t *testing.T) {
	requireTool(t, "fido2-cred")
	requireTool(t, "fido2-assert")
	vaultDir := t.TempDir()

	k := startKey(t, nil, "--transport", "pty", "--vault", vaultDir)
	type entry struct {
		cred     *fido2Cred
		resident bool
		counter  uint32
	}
	entries := []*entry{
		{cred: makeCred(t, k.path(), "es256", "persist-es256.example.org", true), resident: true},
		{cred: makeCred(t, k.path(), "eddsa", "persist-eddsa.example.org", true), resident: true},
		// A non-discoverable credential is sealed under the device secret,
		// which must survive too.
		{cred: makeCred(t, k.path(), "es256", "persist-nonrk.example.org", false)},
	}
	for _, e := range entries {
		getAssert(t, k.path(), e.cred, e.resident)
		e.counter = getAssert(t, k.path(), e.cred, e.resident)
	}
	k.stop()

	listed := credsList(t, nil, vaultDir)
	for _, e := range entries[:2] {
		id := credIDHex(t, e.cred)
		if _, ok := listed[id]; !ok {
			t.Errorf("softkey creds list after a clean stop lacks %s (%s)", id, e.cred.rpID)
		}
	}
	if id := credIDHex(t, entries[2].cred); listed[id].RPID != "" {
		t.Errorf("softkey creds list shows the non-discoverable credential %s", id)
	}

	// softkey creds delete, by a prefix of the ID.
	deleted := entries[1]
	id := credIDHex(t, deleted.cred)
	out := tool(t, nil, nil, softkeyBin, "creds", "delete", id[:12], "--vault", vaultDir)
	if want := "deleted " + id + " (" + deleted.cred.rpID + ", alice)\n"; string(out) != want {
		t.Errorf("softkey creds delete printed %q, want %q", out, want)
	}
	if _, ok := credsList(t, nil, vaultDir)[id]; ok {
		t.Errorf("credential %s still listed after softkey creds delete", id)
	}

	k = startKey(t, nil, "--transport", "pty", "--vault", vaultDir)
	for _, e := range entries {
		if e == deleted {
			continue
		}
		got := getAssert(t, k.path(), e.cred, e.resident)
		if got <= e.counter {
			t.Errorf("%s: counter %d after the restart, want more than %d before it", e.cred.rpID, got, e.counter)
		}
	}
	param := fmt.Sprintf("%s\n%s\n", b64(sha256Sum("deleted")), deleted.cred.rpID)
	_, errOut, err := tryTool(t, nil, nil, "fido2-assert", "-G", "-r", "-i", writeFile(t, t.TempDir(), "param", []byte(param)), k.path())
	if err == nil {
		t.Errorf("fido2-assert -G -r still finds the deleted credential for %s", deleted.cred.rpID)
	} else if !strings.Contains(string(errOut), "FIDO_ERR_NO_CREDENTIALS") {
		t.Errorf("fido2-assert -G -r for the deleted credential: %v: %s, want FIDO_ERR_NO_CREDENTIALS", err, errOut)
	}
}

func TestPersistenceKill9(t *testing.T) {
	requireTool(t, "fido2-cred")
	requireTool(t, "fido2-assert")
	vaultDir := t.TempDir()
	env := []string{"SOFTKEY_VAULT_PASSPHRASE=correct horse battery staple"}
	const rpID = "burst.example.org"
	const killAfter = 8

	// Debug logging shows each report as it arrives, so the kill can be
	// aimed at a makeCredential that is being handled.
	k := startKey(t, env, "--transport", "pty", "--vault", vaultDir, "--log-level", "debug")
	dir := t.TempDir()
	var (
		mu       sync.Mutex
		recorded = map[string][]byte{} // credential ID (hex) → user ID
		enough   = make(chan struct{})
		started  = make(chan int, 1000)
		done     = make(chan error, 1)
	)
	go func() {
		for i := 0; ; i++ {
			started <- i
			userID := []byte(fmt.Sprintf("burst-user-%04d", i))
			param := fmt.Sprintf("%s\n%s\nuser%d\n%s\n", b64(sha256Sum(fmt.Sprint("burst ", i))), rpID, i, b64(userID))
			paramFile := filepath.Join(dir, fmt.Sprintf("param%d", i))
			if err := os.WriteFile(paramFile, []byte(param), 0o600); err != nil {
				done <- err
				return
			}
			out, errOut, err := tryTool(t, nil, nil, "fido2-cred", "-M", "-q", "-r", "-i", paramFile, k.path(), "es256")
			if err != nil {
				done <- fmt.Errorf("registration %d: %v: %s", i, err, errOut)
				return
			}
			// Recorded only once fido2-cred has reported success.
			lines := strings.Split(string(out), "\n")
			if len(lines) < 5 {
				done <- fmt.Errorf("registration %d printed %q", i, out)
				return
			}
			id, err := base64.StdEncoding.DecodeString(lines[4])
			if err != nil {
				done <- fmt.Errorf("registration %d: credential ID %q: %v", i, lines[4], err)
				return
			}
			mu.Lock()
			recorded[hex.EncodeToString(id)] = userID
			if len(recorded) == killAfter {
				close(enough)
			}
			mu.Unlock()
		}
	}()

	select {
	case <-enough:
	case err := <-done:
		t.Fatalf("the burst stopped before softkey was killed: %v", err)
	case <-time.After(2 * time.Minute):
		t.Fatal("fewer than 8 registrations in 2 minutes")
	}
	// Kill while the next registration is under way: once fido2-cred's
	// second CBOR message (after getInfo, the makeCredential) has reached
	// softkey.
	next := killAfter
	for i := range started {
		if i >= killAfter {
			next = i
			break
		}
	}
	offset := len(k.stderr.String())
	cborIn := regexp.MustCompile(`msg="ctaphid: report" dir=in channel=\S+ cmd=CTAPHID_CBOR`)
	deadline := time.Now().Add(10 * time.Second)
	for len(cborIn.FindAllString(k.stderr.String()[offset:], -1)) < 2 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if time.Now().After(deadline) {
		t.Logf("registration %d's makeCredential not seen in softkey's log within 10s; killing anyway", next)
	} else {
		t.Logf("killing softkey while it handles registration %d's makeCredential", next)
	}
	k.kill()
	select {
	case err := <-done:
		t.Logf("the burst ended with the kill, as expected: %v", err)
	case <-time.After(toolTimeout + 10*time.Second):
		t.Fatal("the burst did not end after softkey was killed")
	}
	mu.Lock()
	defer mu.Unlock()
	t.Logf("%d registrations had returned success before kill -9", len(recorded))

	listed := credsList(t, env, vaultDir)
	t.Logf("after kill -9 the vault holds %d credentials; %d registrations had reported success", len(listed), len(recorded))
	for id := range recorded {
		c, ok := listed[id]
		if !ok {
			t.Errorf("credential %s, whose registration returned success, is gone after kill -9", id)
			continue
		}
		if c.RPID != rpID || c.UserID != hex.EncodeToString(recorded[id]) {
			t.Errorf("credential %s after kill -9: %+v, want rp %s and user %x", id, c, rpID, recorded[id])
		}
	}

	// And the restarted key finds every one without an allow list.
	k = startKey(t, env, "--transport", "pty", "--vault", vaultDir)
	param := fmt.Sprintf("%s\n%s\n", b64(sha256Sum("after kill")), rpID)
	out := tool(t, nil, nil, "fido2-assert", "-G", "-r", "-i", writeFile(t, dir, "assert_param", []byte(param)), k.path())
	users := map[string]bool{}
	lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	for i := 4; i < len(lines); i += 5 {
		users[lines[i]] = true
	}
	for id, userID := range recorded {
		if !users[b64(userID)] {
			t.Errorf("fido2-assert -G -r after kill -9 does not find credential %s (user %q)", id, userID)
		}
	}
}

// credsList runs `softkey creds list --json` on a vault and returns the
// credentials by ID (hex).
func credsList(t *testing.T, env []string, vaultDir string) map[string]credJSON {
	t.Helper()
	out := tool(t, nil, env, softkeyBin, "creds", "list", "--vault", vaultDir, "--json")
	var list []credJSON
	if err := json.Unmarshal(out, &list); err != nil {
		t.Fatalf("softkey creds list --json: %v\n%s", err, out)
	}
	m := make(map[string]credJSON, len(list))
	for _, c := range list {
		m[c.CredentialID] = c
	}
	return m
}

func credIDHex(t *testing.T, c *fido2Cred) string {
	t.Helper()
	id, err := base64.StdEncoding.DecodeString(c.id)
	if err != nil {
		t.Fatalf("credential ID %q: %v", c.id, err)
	}
	return hex.EncodeToString(id)
}
