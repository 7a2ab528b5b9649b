package ci

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestUnavailable runs itself as a child with and without CI=true and
// checks that the same missing tool skips in one and fails in the other.
func TestUnavailable(t *testing.T) {
	if os.Getenv("SOFTKEY_CI_CHILD") == "1" {
		Unavailable(t, "frobnicator is not installed")
		return
	}
	for _, tt := range []struct {
		ci   string
		fail bool
		want string
	}{
		{"", false, "--- SKIP"},
		{"true", true, "CI=true: frobnicator is not installed"},
	} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestUnavailable$", "-test.v")
		cmd.Env = append(os.Environ(), "SOFTKEY_CI_CHILD=1", "CI="+tt.ci)
		out, err := cmd.CombinedOutput()
		if (err != nil) != tt.fail || !strings.Contains(string(out), tt.want) {
			t.Errorf("CI=%q: err %v, output:\n%s\nwant failure=%v and %q", tt.ci, err, out, tt.fail, tt.want)
		}
	}
}
