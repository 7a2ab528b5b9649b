package main

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/softkeydev/softkey/attestation"
	"github.com/softkeydev/softkey/authenticator"
)

// A CA directory holds the test CA and the batch certificates it serves:
//
//	ca.pem                     the intermediate and root certificates
//	ca-key.pem                 their private keys (0600)
//	batch-AAGUID.pem           a batch certificate and its chain, for one AAGUID
//	batch-AAGUID-key.pem       its private key (0600)
const (
	caCertFile  = "ca.pem"
	caKeyFile   = "ca-key.pem"
	batchPrefix = "batch-"
)

// caStore is a CA directory.
type caStore struct{ dir string }

// defaultCADir is $XDG_DATA_HOME/softkey/ca, or ~/.local/share/softkey/ca.
func defaultCADir() (string, error) {
	if d := os.Getenv("XDG_DATA_HOME"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, "softkey", "ca"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", withHints(fmt.Errorf("finding the default CA directory: %w", err), "pass the directory (--dir, or --ca for mds export)")
	}
	return filepath.Join(home, ".local", "share", "softkey", "ca"), nil
}

// caStoreFor returns the CA directory dir, or the default one.
func caStoreFor(dir string) (caStore, error) {
	if dir != "" {
		return caStore{dir: dir}, nil
	}
	d, err := defaultCADir()
	return caStore{dir: d}, err
}

func (s caStore) path(name string) string { return filepath.Join(s.dir, name) }

func batchFiles(aaguid authenticator.AAGUID) (chain, key string) {
	return batchPrefix + aaguid.String() + ".pem", batchPrefix + aaguid.String() + "-key.pem"
}

// exists reports whether the directory holds a CA.
func (s caStore) exists() bool {
	for _, name := range []string{caCertFile, caKeyFile} {
		if _, err := os.Lstat(s.path(name)); err == nil {
			return true
		}
	}
	return false
}

// existsError refuses to overwrite the CA in the directory.
func (s caStore) existsError() error {
	return withHints(fmt.Errorf("%s already holds a CA", s.dir),
		"to start over, remove the directory (its batch certificates go with it): rm -r "+s.dir,
		"or pass --dir for another directory")
}

// load reads the CA.
func (s caStore) load() (*attestation.CA, error) {
	certs, err := os.ReadFile(s.path(caCertFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, withHints(fmt.Errorf("no CA in %s: %s is missing", s.dir, caCertFile),
			"make one with: softkey ca init --dir "+s.dir)
	}
	if err != nil {
		return nil, fmt.Errorf("reading the CA: %w", err)
	}
	keys, err := os.ReadFile(s.path(caKeyFile))
	if err != nil {
		return nil, fmt.Errorf("reading the CA: %w", err)
	}
	ca, err := attestation.ParseCAPEM(certs, keys)
	if err != nil {
		return nil, fmt.Errorf("reading the CA in %s: %w", s.dir, err)
	}
	return ca, nil
}

// create writes a new CA into the directory, which it makes (0700) if
// need be. An existing CA is never overwritten.
func (s caStore) create(ca *attestation.CA) error {
	if s.exists() {
		return s.existsError()
	}
	certs, keys, err := ca.MarshalPEM()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(s.dir, 0o700); err != nil {
		return fmt.Errorf("creating the CA directory: %w", err)
	}
	if err := writeNewFile(s.path(caKeyFile), keys, 0o600); err != nil {
		return err
	}
	if err := writeNewFile(s.path(caCertFile), certs, 0o644); err != nil {
		os.Remove(s.path(caKeyFile))
		return err
	}
	return nil
}

// batch returns the stored batch for aaguid, or nil if there is none. A
// stored batch is checked as an imported one is.
func (s caStore) batch(aaguid authenticator.AAGUID) (*attestation.Batch, error) {
	chainName, keyName := batchFiles(aaguid)
	chain, err := os.ReadFile(s.path(chainName))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the batch certificate: %w", err)
	}
	key, err := os.ReadFile(s.path(keyName))
	if err != nil {
		return nil, fmt.Errorf("reading the batch key: %w", err)
	}
	b, err := attestation.ImportBatch(chain, key, aaguid)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", s.path(chainName), err)
	}
	return b, nil
}

// saveBatch stores a batch for aaguid; an existing one is never replaced.
func (s caStore) saveBatch(aaguid authenticator.AAGUID, b *attestation.Batch) (string, error) {
	chainName, keyName := batchFiles(aaguid)
	if _, err := os.Lstat(s.path(chainName)); err == nil {
		return "", withHints(fmt.Errorf("%s already holds a batch certificate for AAGUID %s", s.dir, aaguid),
			fmt.Sprintf("to replace it, remove %s and %s first", s.path(chainName), s.path(keyName)))
	}
	chain, key, err := b.MarshalPEM()
	if err != nil {
		return "", err
	}
	if err := writeNewFile(s.path(keyName), key, 0o600); err != nil {
		return "", err
	}
	if err := writeNewFile(s.path(chainName), chain, 0o644); err != nil {
		os.Remove(s.path(keyName))
		return "", err
	}
	return s.path(chainName), nil
}

// storedBatch is one batch in a CA directory.
type storedBatch struct {
	aaguid authenticator.AAGUID
	file   string
	chain  []*x509.Certificate
}

// batches lists the stored batches, by AAGUID.
func (s caStore) batches() ([]storedBatch, error) {
	names, err := filepath.Glob(s.path(batchPrefix + "*.pem"))
	if err != nil {
		return nil, err
	}
	slices.Sort(names)
	var out []storedBatch
	for _, name := range names {
		id, ok := strings.CutSuffix(strings.TrimPrefix(filepath.Base(name), batchPrefix), ".pem")
		if !ok || strings.HasSuffix(id, "-key") {
			continue
		}
		aaguid, err := authenticator.ParseAAGUID(id)
		if err != nil {
			continue // not a file of ours
		}
		data, err := os.ReadFile(name)
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", name, err)
		}
		b := storedBatch{aaguid: aaguid, file: name}
		for rest := data; ; {
			var block *pem.Block
			block, rest = pem.Decode(rest)
			if block == nil {
				break
			}
			c, err := x509.ParseCertificate(block.Bytes)
			if err != nil {
				return nil, fmt.Errorf("reading %s: %w", name, err)
			}
			b.chain = append(b.chain, c)
		}
		if len(b.chain) == 0 {
			return nil, fmt.Errorf("reading %s: no certificates", name)
		}
		out = append(out, b)
	}
	return out, nil
}

// writeNewFile creates path with data and mode; an existing file is an
// error. A half-written file is removed.
func writeNewFile(path string, data []byte, mode os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(path)
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		os.Remove(path)
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}
