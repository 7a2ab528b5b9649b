// Command softkey is a FIDO2 security key in software.
//
// `softkey run` starts a key on a pseudo-terminal (which libfido2-based
// tools and OpenSSH open by path, as if it were a hidraw node) or on UDP
// (one 64-byte HID report per datagram). `softkey info` asks any such key
// for its getInfo, `softkey creds` lists and deletes the discoverable
// credentials in a vault, and `softkey version` prints the version.
// `softkey presets` lists the model presets, `softkey ca` makes and imports
// the test attestation CA, and `softkey mds export` writes FIDO metadata
// that trusts it. `softkey uv`, `softkey power-cycle` and `softkey clock`
// act on a running key through its control socket, as a tester would on
// a real key.
//
// All output that was not asked for, including errors, goes to stderr, as
// "softkey: error: ..." followed by "hint: ..." lines where a hint helps.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
)

func main() {
	os.Exit(softkeyMain(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}

// softkeyMain runs the command line and returns the exit code: 0 on
// success, 1 on any error.
func softkeyMain(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	root := newRootCommand()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	if err := root.ExecuteContext(ctx); err != nil {
		printError(stderr, err)
		return 1
	}
	return 0
}

func newRootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "softkey",
		Short: "A FIDO2 security key in software",
		Long: `softkey is a FIDO2 (CTAP 2.1) and U2F security key in software.

It serves CTAPHID on a pseudo-terminal, which libfido2 (fido2-token,
fido2-cred, fido2-assert), OpenSSH and go-libfido2 open by path as if it
were a hidraw device, or on UDP, one 64-byte report per datagram, for
python-fido2 and simulators. Discoverable credentials, device secrets and
signature counters live in an encrypted vault.`,
		Example: `  # start a key on a pseudo-terminal, approving each touch at a prompt
  softkey run

  # in another terminal, use it with libfido2's tools
  fido2-token -I /dev/pts/3

  # a key for tests: UDP, in memory, every touch approved
  softkey run --transport udp --memory --presence auto`,
		SilenceErrors: true,
		SilenceUsage:  true,
		Args:          usageArgs(cobra.NoArgs),
		RunE:          func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	root.SetFlagErrorFunc(flagError)
	root.CompletionOptions.DisableDefaultCmd = true
	root.AddCommand(newRunCommand(), newInfoCommand(), newCredsCommand(), newVersionCommand())
	root.AddCommand(newPresetsCommand(), newCACommand(), newMDSCommand())
	root.AddCommand(newTunnelCommand(), newHybridCommand())
	root.AddCommand(newUVCommand(), newPowerCycleCommand(), newClockCommand())
	return root
}

// hintError is an error with advice for the user, printed as "hint:" lines.
type hintError struct {
	err   error
	hints []string
}

func (e *hintError) Error() string { return e.err.Error() }
func (e *hintError) Unwrap() error { return e.err }

// withHints attaches hints to err; they are printed after the error.
func withHints(err error, hints ...string) error {
	return &hintError{err: err, hints: hints}
}

// flagError words a flag parsing failure and points at --help.
func flagError(cmd *cobra.Command, err error) error {
	return withHints(err, fmt.Sprintf("run '%s --help' for usage", cmd.CommandPath()))
}

// usageArgs is like cobra.ExactArgs and friends, but its errors carry a hint
// pointing at --help.
func usageArgs(check cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := check(cmd, args); err != nil {
			return flagError(cmd, err)
		}
		return nil
	}
}

// printError writes err as "softkey: error: ..." and its hints, if any, as
// "hint: ..." lines. Multi-line errors keep their lines.
func printError(w io.Writer, err error) {
	msg := strings.TrimRight(err.Error(), "\n")
	lines := strings.Split(msg, "\n")
	fmt.Fprintf(w, "softkey: error: %s\n", lines[0])
	for _, l := range lines[1:] {
		fmt.Fprintf(w, "softkey: error: %s\n", l)
	}
	var hints []string
	for e := err; ; {
		var h *hintError
		if !errors.As(e, &h) {
			break
		}
		hints = append(hints, h.hints...)
		e = h.err
	}
	for _, h := range hints {
		fmt.Fprintf(w, "hint: %s\n", h)
	}
}
