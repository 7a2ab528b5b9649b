package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/softkeydev/softkey/authenticator"
	"github.com/softkeydev/softkey/authenticator/store"
	"github.com/softkeydev/softkey/ctap2"
	"github.com/softkeydev/softkey/ctap2/pinuv"
)

// engineFlags are the flags every command that runs a key shares: where the
// credentials live and how a touch is asked for.
type engineFlags struct {
	memory           bool
	vaultDir         string
	passphrasePrompt bool
	presence         string
	presenceTimeout  time.Duration
	keystore         keystoreFlags
}

// addEngineFlags registers the engine's flags on cmd.
func addEngineFlags(cmd *cobra.Command, e *engineFlags) {
	f := cmd.Flags()
	f.StringVar(&e.vaultDir, "vault", "", "vault directory (default $XDG_DATA_HOME/softkey or ~/.local/share/softkey)")
	f.BoolVar(&e.memory, "memory", false, "keep credentials in memory only; they are lost when softkey stops")
	f.BoolVar(&e.passphrasePrompt, "passphrase-prompt", false, "read the vault passphrase from the terminal")
	f.StringVar(&e.presence, "presence", presencePrompt, "how user presence is answered: auto, prompt (terminal), desktop (dialog) or deny")
	f.DurationVar(&e.presenceTimeout, "presence-timeout", 30*time.Second, "how long --presence prompt or desktop waits for an answer")
	addKeystoreFlags(f, &e.keystore)
	cmd.MarkFlagsMutuallyExclusive("memory", "vault")
	cmd.MarkFlagsMutuallyExclusive("memory", "passphrase-prompt")
}

// startEngine opens the store (memory or vault) and the presence, and
// starts the authenticator with them. stop releases both; it must be
// called once the engine is no longer used. vaultDir is empty for a key
// in memory.
func startEngine(f engineFlags, key *keySetup, logger *slog.Logger) (auth *authenticator.Authenticator, vaultDir string, stop func(), err error) {
	return startEngineWith(f, key, nil, nil, logger)
}

// startEngineWith is startEngine with the verifier that decides built-in
// user verification, for profiles with uv (nil verifies every request),
// and the key's clock (nil: the system's).
func startEngineWith(f engineFlags, key *keySetup, verifier authenticator.Verifier, now func() time.Time, logger *slog.Logger) (auth *authenticator.Authenticator, vaultDir string, stop func(), err error) {
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
	keyBackend, closeKeys, err := f.keystore.open(key.profile, logger)
	if err != nil {
		stop()
		return nil, "", nil, err
	}
	closers = append(closers, closeKeys)
	var st authenticator.Store = &store.Memory{}
	if !f.memory {
		// With --keystore tpm the vault's key is sealed by the same TPM.
		sealer, err := vaultSealer(f.keystore, keyBackend)
		if err != nil {
			stop()
			return nil, "", nil, err
		}
		v, dir, err := openVault(f.vaultDir, f.passphrasePrompt, false, sealer)
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
		Keys:     keyBackend,
		Presence: presence,
		Verifier: verifier,
		Now:      now,
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

// inProcess is a ctap2.Transport straight into an authenticator, for what
// softkey itself asks of the key it runs, such as setting the first PIN.
type inProcess struct{ auth *authenticator.Authenticator }

func (t inProcess) CBOR(ctx context.Context, msg []byte) ([]byte, error) {
	return t.auth.HandleCBOR(ctx, msg), nil
}

func (t inProcess) Message(ctx context.Context, apdu []byte) ([]byte, error) {
	return t.auth.HandleMessage(ctx, apdu), nil
}

// pinFromFlags returns the PIN softkey run should set: --pin, else the
// first line of --pin-file, else $SOFTKEY_PIN; "" for none.
func pinFromFlags(pin, pinFile string, getenv func(string) string) (string, error) {
	switch {
	case pin != "":
		return pin, nil
	case pinFile != "":
		data, err := os.ReadFile(pinFile)
		if err != nil {
			return "", fmt.Errorf("--pin-file: %w", err)
		}
		line, _, _ := strings.Cut(string(data), "\n")
		line = strings.TrimSuffix(line, "\r")
		if line == "" {
			return "", fmt.Errorf("--pin-file: %s holds no PIN on its first line", pinFile)
		}
		return line, nil
	}
	return getenv("SOFTKEY_PIN"), nil
}

// setInitialPIN gives a key without a PIN its first one, through
// authenticatorClientPIN setPIN as a platform would (CTAP 2.1 §6.5.5.5).
// A key that has a PIN keeps it: the only way to compare would spend one
// of its retries, and restarting a test key with the same --pin must
// work, so softkey logs that the flag was ignored.
func setInitialPIN(ctx context.Context, auth *authenticator.Authenticator, pin string, logger *slog.Logger) error {
	client := ctap2.NewClient(inProcess{auth})
	info, err := client.GetInfo(ctx)
	if err != nil {
		return fmt.Errorf("--pin: %w", err)
	}
	pinSet, ok := info.Options["clientPin"]
	switch {
	case !ok:
		return withHints(errors.New("--pin: the key's profile has no PIN (client_pin is off)"),
			"pick a profile with client_pin: true, or leave --pin out")
	case pinSet:
		logger.Warn("the key already has a PIN; --pin is ignored (fido2-token -C changes it, a reset with fido2-token -R forgets it)")
		return nil
	}
	if len(pin) > 63 {
		return fmt.Errorf("--pin: the PIN is %d bytes long; CTAP allows at most 63", len(pin))
	}
	if len(info.PinUvAuthProtocols) == 0 {
		return errors.New("--pin: the key offers no PIN/UV auth protocol")
	}
	p, err := pinuv.ByVersion(info.PinUvAuthProtocols[0])
	if err != nil {
		return fmt.Errorf("--pin: %w", err)
	}
	err = pinuv.NewClient(client, p, rand.Reader).SetPIN(ctx, pin)
	if errors.Is(err, ctap2.ErrPINPolicyViolation) {
		return withHints(fmt.Errorf("--pin: the key refuses the PIN: %w", err),
			fmt.Sprintf("a PIN needs %d to 63 characters (the profile's min_pin_length)", info.MinPINLength))
	}
	if err != nil {
		return fmt.Errorf("--pin: %w", err)
	}
	logger.Info("PIN set", "protocol", p.Version())
	return nil
}
