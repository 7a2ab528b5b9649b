package vault_test

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/softkeydev/softkey/authenticator/store"
	"github.com/softkeydev/softkey/authenticator/store/vault"
)

// helperDirEnv tells TestHelperProcess, run as a child, which vault to
// write to.
const helperDirEnv = "SOFTKEY_VAULT_TEST_HELPER_DIR"

// TestHelperProcess is the child of TestKillDurability, not a test: it
// stores credentials and bumps a counter until it is killed, printing
// "<credential ID hex> <counter>" only after both calls have returned.
func TestHelperProcess(t *testing.T) {
	dir := os.Getenv(helperDirEnv)
	if dir == "" {
		t.Skip("run by TestKillDurability")
	}
	v, err := vault.Open(dir, vault.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	for i := 0; ; i++ {
		id := make([]byte, 16)
		_, _ = rand.Read(id)
		c := &store.Credential{ID: id, RPID: "crash.example"}
		c.User.ID = []byte(hex.EncodeToString(id)) // never replaces another
		if err := v.PutCredential(c); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		n, err := v.IncrementCounter([]byte("crash"))
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		fmt.Printf("%x %d\n", id, n)
	}
}

// TestKillDurability kills a process that is writing to a vault, with
// SIGKILL, at several points, and checks that everything it reported as
// done is in the vault afterwards, and that the vault still opens.
func TestKillDurability(t *testing.T) {
	if testing.Short() {
		t.Skip("starts child processes")
	}
	dir := t.TempDir()
	var want []string // credential IDs the children reported
	var last uint32   // the last counter value they reported
	for round, lines := range []int{150, 301, 77} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$")
		cmd.Env = append(os.Environ(), helperDirEnv+"="+dir)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.StdoutPipe()
		require.NoError(t, err)
		require.NoError(t, cmd.Start())

		sc := bufio.NewScanner(out)
		read := func() bool {
			if !sc.Scan() {
				return false
			}
			id, n, ok := strings.Cut(sc.Text(), " ")
			require.True(t, ok, "round %d: malformed line %q", round, sc.Text())
			v, err := strconv.ParseUint(n, 10, 32)
			require.NoError(t, err)
			require.Greater(t, uint32(v), last, "round %d: counter went backwards", round)
			want, last = append(want, id), uint32(v)
			return true
		}
		for range lines {
			require.True(t, read(), "round %d: the child stopped early: %s", round, stderr.String())
		}
		require.NoError(t, cmd.Process.Kill()) // SIGKILL, mid-write
		for read() {
			// Lines already in the pipe were printed after their
			// writes returned: they count too.
		}
		require.Error(t, cmd.Wait())
		t.Logf("round %d: %d writes reported before the kill", round, len(want))
	}

	v := open(t, dir, vault.Options{})
	for _, id := range want {
		raw, err := hex.DecodeString(id)
		require.NoError(t, err)
		_, err = v.Credential(raw)
		require.NoError(t, err, "credential %s was reported stored", id)
	}
	n, err := v.IncrementCounter([]byte("crash"))
	require.NoError(t, err)
	require.Greater(t, n, last, "the counter must not go backwards")
	count, err := v.CountCredentials()
	require.NoError(t, err)
	require.GreaterOrEqual(t, count, len(want))
	require.LessOrEqual(t, count, len(want)+3, "at most one unreported write per round")
}
