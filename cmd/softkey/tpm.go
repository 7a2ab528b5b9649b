package main

import (
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"slices"

	"github.com/spf13/pflag"

	"github.com/softkeydev/softkey/authenticator"
	"github.com/softkeydev/softkey/authenticator/keys"
	"github.com/softkeydev/softkey/authenticator/keys/tpmkeys"
	"github.com/softkeydev/softkey/ctap2"
)

// Values of --keystore.
const (
	keystoreSoft = "soft"
	keystoreTPM  = "tpm"
)

// keystoreFlags choose where credential private keys are made and kept.
type keystoreFlags struct {
	keystore string
	tpm      string
}

// addKeystoreFlags registers --keystore and --tpm in f.
func addKeystoreFlags(f *pflag.FlagSet, k *keystoreFlags) {
	f.StringVar(&k.keystore, "keystore", keystoreSoft, "where credential keys live: soft (in process memory, sealed into credential IDs) or tpm (inside a TPM 2.0; they cannot be copied off the machine)")
	f.StringVar(&k.tpm, "tpm", "/dev/tpmrm0", "`TPM` for --keystore tpm: a device (/dev/tpmrm0), swtpm:HOST:PORT (the server port of swtpm socket), or simulator (an in-process TPM whose keys die with the process; builds with -tags tpmsim only)")
}

// open returns the key backend the flags ask for and a function that
// releases it. For a TPM it narrows profile.Algorithms to what the TPM
// keystore can offer.
func (k keystoreFlags) open(profile *authenticator.Profile, logger *slog.Logger) (authenticator.KeyBackend, func(), error) {
	switch k.keystore {
	case keystoreSoft, "":
		return keys.NewSoftware(rand.Reader), func() {}, nil
	case keystoreTPM:
	default:
		return nil, nil, fmt.Errorf("--keystore %q: want %s or %s", k.keystore, keystoreSoft, keystoreTPM)
	}
	tpm, err := tpmkeys.Open(k.tpm)
	if err != nil {
		return nil, nil, withHints(fmt.Errorf("--keystore tpm: %w", err),
			"use --tpm swtpm:HOST:PORT for a software TPM (swtpm socket --tpm2 --server type=tcp,port=PORT --flags not-need-init,startup-clear --tpmstate dir=DIR), or --keystore soft")
	}
	backend, err := tpmkeys.New(tpmkeys.Config{TPM: tpm})
	if err != nil {
		return nil, nil, errors.Join(fmt.Errorf("--keystore tpm: %w", err), tpm.Close())
	}
	closeTPM := func() error { return errors.Join(backend.Close(), tpm.Close()) }
	// RS256 is offered where the TPM makes RSA-2048 keys. A TPM whose
	// wrapped RSA key is too large for a credential ID (the reference
	// TPM's is 1019 bytes; swtpm's 507) refuses RS256 registrations with
	// CTAP2_ERR_UNSUPPORTED_ALGORITHM.
	var algs []ctap2.Alg
	for _, alg := range profile.Algorithms {
		if slices.Contains(backend.Algorithms(), alg) {
			algs = append(algs, alg)
		}
	}
	if len(algs) == 0 {
		return nil, nil, errors.Join(fmt.Errorf("--keystore tpm: the profile offers none of the algorithms this TPM has (%v)", backend.Algorithms()), closeTPM())
	}
	if info, err := backend.Info(); err == nil {
		logger.Info("TPM keystore open", "tpm", k.tpm, "manufacturer", info.Vendor(), "model", info.Model)
	}
	if len(algs) < len(profile.Algorithms) {
		logger.Info("TPM keystore: offering only these algorithms", "algorithms", algs)
	}
	profile.Algorithms = algs
	return backend, func() {
		if err := closeTPM(); err != nil {
			logger.Error("closing the TPM", "tpm", k.tpm, "error", err)
		}
	}, nil
}
