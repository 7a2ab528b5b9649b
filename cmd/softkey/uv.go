package main

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// controlTimeout bounds a control command's exchange with the key.
const controlTimeout = 10 * time.Second

// maxQueuedOutcomes bounds `softkey uv next OUTCOME N`.
const maxQueuedOutcomes = 1000

// controlFlags name the running key a control command talks to.
type controlFlags struct {
	control  string
	vaultDir string
}

func addControlFlags(f *pflag.FlagSet, c *controlFlags) {
	f.StringVar(&c.control, "control", "", "the key's control `socket` (default: control.sock in the vault directory)")
	f.StringVar(&c.vaultDir, "vault", "", "the running key's vault `directory`, whose control.sock to use (default $XDG_DATA_HOME/softkey or ~/.local/share/softkey)")
}

// send sends req to the key the flags name.
func (c *controlFlags) send(ctx context.Context, req controlRequest) error {
	path, err := controlPath(c.control, c.vaultDir)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, controlTimeout)
	defer cancel()
	return sendControl(ctx, path, req)
}

// parseOutcome reads pass or fail.
func parseOutcome(cmd *cobra.Command, s string) (bool, error) {
	switch s {
	case "pass":
		return true, nil
	case "fail":
		return false, nil
	}
	return false, flagError(cmd, fmt.Errorf("the outcome must be pass or fail, not %q", s))
}

func newUVCommand() *cobra.Command {
	var c controlFlags
	cmd := &cobra.Command{
		Use:   "uv",
		Short: "Decide a running key's built-in user verification",
		Long: `Decide how a running key's built-in user verification (the emulated
fingerprint sensor of a profile with uv: true) answers, as a person would
by putting the right or the wrong finger on it.

softkey uv next queues outcomes for the next verifications, in order;
once they are used up, every verification has the default outcome,
pass unless softkey uv default changed it. A failed verification counts
against the key's UV retries, as on a real key.

The key is reached through its control socket: --control, else
control.sock in the vault directory (softkey run --vault DIR listens on
DIR/control.sock; a key in memory listens only with --control).`,
		Example: `  # the next verification fails, the one after passes
  softkey uv next fail
  softkey uv next pass

  # the next three verifications fail
  softkey uv next fail 3 --control /tmp/key.sock

  # every verification fails from now on
  softkey uv default fail`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	addControlFlags(cmd.PersistentFlags(), &c)

	next := &cobra.Command{
		Use:   "next pass|fail [N]",
		Short: "Queue the outcome of the next N verifications (default 1)",
		Args:  usageArgs(cobra.RangeArgs(1, 2)),
		RunE: func(cmd *cobra.Command, args []string) error {
			pass, err := parseOutcome(cmd, args[0])
			if err != nil {
				return err
			}
			n := 1
			if len(args) == 2 {
				n, err = strconv.Atoi(args[1])
				if err != nil || n < 1 || n > maxQueuedOutcomes {
					return flagError(cmd, fmt.Errorf("the count N must be a number from 1 to %d, not %q", maxQueuedOutcomes, args[1]))
				}
			}
			return c.send(cmd.Context(), controlRequest{Command: controlUVNext, Outcomes: slices.Repeat([]bool{pass}, n)})
		},
	}
	def := &cobra.Command{
		Use:   "default pass|fail",
		Short: "Set the outcome of verifications once the queue is used up",
		Args:  usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			pass, err := parseOutcome(cmd, args[0])
			if err != nil {
				return err
			}
			return c.send(cmd.Context(), controlRequest{Command: controlUVDefault, Pass: &pass})
		},
	}
	cmd.AddCommand(next, def)
	return cmd
}

func newPowerCycleCommand() *cobra.Command {
	var c controlFlags
	cmd := &cobra.Command{
		Use:   "power-cycle",
		Short: "Unplug and replug a running key",
		Long: `Unplug and replug a running key, through its control socket: it forgets
what a real key forgets without power (its PIN/UV auth token and key
agreement key, the PIN retries of this power-up, an assertion or
enumeration in progress, the 10 s reset window starts again); credentials,
the PIN and the signature counters stay.`,
		Example: `  softkey power-cycle
  softkey power-cycle --control /tmp/key.sock`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return c.send(cmd.Context(), controlRequest{Command: controlPowerCycle})
		},
	}
	addControlFlags(cmd.Flags(), &c)
	return cmd
}
