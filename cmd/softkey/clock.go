package main

import (
	"fmt"
	"sync"
	"time"

	"github.com/spf13/cobra"
)

// maxClockAdvance bounds one `softkey clock advance`.
const maxClockAdvance = 24 * time.Hour

// keyClock is a running key's clock: the system's, moved forward by what
// `softkey clock advance` asked, so that a test reaches the key's time
// limits (the 10 s reset window, getNextAssertion's 30 s, the PIN/UV auth
// token's timers) without waiting for them.
type keyClock struct {
	mu     sync.Mutex
	offset time.Duration
}

// now is the key's time.
func (c *keyClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

// advance moves the clock forward by d; it never goes back.
func (c *keyClock) advance(d time.Duration) error {
	if d <= 0 || d > maxClockAdvance {
		return fmt.Errorf("the clock moves forward by more than 0 and at most %v, not %v", maxClockAdvance, d)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset += d
	return nil
}

func newClockCommand() *cobra.Command {
	var c controlFlags
	cmd := &cobra.Command{
		Use:   "clock",
		Short: "Move a running key's clock forward",
		Args:  usageArgs(cobra.NoArgs),
		RunE:  func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	addControlFlags(cmd.PersistentFlags(), &c)
	advance := &cobra.Command{
		Use:   "advance DURATION",
		Short: "Move the key's clock forward by DURATION (for example 11s)",
		Long: `Move a running key's clock forward, through its control socket, so that a
test reaches the key's time limits without waiting: the 10 s after power-up
in which reset is allowed, the 30 s in which getNextAssertion may follow
getAssertion, the PIN/UV auth token's timers. The clock never goes back;
a power cycle starts the reset window again from the moved clock.`,
		Example: `  # leave the reset window
  softkey clock advance 11s`,
		Args: usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			d, err := time.ParseDuration(args[0])
			if err != nil || d <= 0 || d > maxClockAdvance {
				return flagError(cmd, fmt.Errorf("DURATION must be a Go duration above 0 and at most %v, such as 11s, not %q", maxClockAdvance, args[0]))
			}
			return c.send(cmd.Context(), controlRequest{Command: controlClockAdvance, Seconds: d.Seconds()})
		},
	}
	cmd.AddCommand(advance)
	return cmd
}
