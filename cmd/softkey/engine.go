package main

import (
	"crypto/rand"
	"fmt"
	"log/slog"
	"time"

	"github.com/spf13/cobra"

	"github.com/softkeydev/softkey/authenticator"
	"github.com/softkeydev/softkey/authenticator/keys"
	"github.com/softkeydev/softkey/authenticator/store"
)

// engineFlags are the flags every command that runs a key shares: where the
// credentials live and how a touch is asked for.
type engineFlags struct {
	memory           bool
	vaultDir         string
	passphrasePrompt bool
	presence         string
	presenceTimeout  time.Duration
}

// addEngineFlags registers the engine's flags on cmd.
func addEngineFlags(cmd *cobra.Command, e *engineFlags) {
	f := cmd.Flags()
	f.StringVar(&e.vaultDir, "vault", "", "vault directory (default $XDG_DATA_HOME/softkey or ~/.local/share/softkey)")
	f.BoolVar(&e.memory, "memory", false, "keep credentials in memory only; they are lost when softkey stops")
	f.BoolVar(&e.passphrasePrompt, "passphrase-prompt", false, "read the vault passphrase from the terminal")
	f.StringVar(&e.presence, "presence", presencePrompt, "how user presence is answered: auto, prompt (terminal), desktop (dialog) or deny")
	f.DurationVar(&e.presenceTimeout, "presence-timeout", 30*time.Second, "how long --presence prompt or desktop waits for an answer")
	cmd.MarkFlagsMutuallyExclusive("memory", "vault")
	cmd.MarkFlagsMutuallyExclusive("memory", "passphrase-prompt")
}

// startEngine opens the store (memory or vault) and the presence, and
// starts the authenticator with them. stop releases both; it must be
// called once the engine is no longer used. vaultDir is empty for a key
// in memory.
func startEngine(f engineFlags, key *keySetup, logger *slog.Logger) (auth *authenticator.Authenticator, vaultDir string, stop func(), err error) {
	presence, closePresence, err := presenceFromFlag(f.presence, f.presenceTimeout)
	if err != nil {
		return nil, "", nil, err
	}
	closers := []func(){closePresence}
	stop = func() {
		for i := len(closers) - 1; i >= 0; i-- {
			closers[i]()
		}
	}
	var st authenticator.Store = &store.Memory{}
	if !f.memory {
		v, dir, err := openVault(f.vaultDir, f.passphrasePrompt, false)
		if err != nil {
			stop()
			return nil, "", nil, err
		}
		closers = append(closers, func() {
			if err := v.Close(); err != nil {
				logger.Error("closing the vault", "dir", dir, "error", err)
			}
		})
		logger.Info("vault open", "dir", dir)
		st, vaultDir = v, dir
	}
	auth, err = authenticator.New(authenticator.Config{
		Profile:  key.profile,
		Store:    st,
		Keys:     keys.NewSoftware(rand.Reader),
		Presence: presence,
		CA:       key.ca,
		Batch:    key.batch,
		Logger:   logger,
	})
	if err != nil {
		stop()
		return nil, "", nil, fmt.Errorf("starting the authenticator: %w", err)
	}
	return auth, vaultDir, stop, nil
}
