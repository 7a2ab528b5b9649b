package vault

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"

	"go.etcd.io/bbolt"

	"github.com/softkeydev/softkey/authenticator/store"
)

// Device returns the device secrets, or store.ErrNotFound before SetDevice.
func (v *Vault) Device() (*store.Device, error) {
	var d *store.Device
	err := v.view("reading device secrets", func(bs buckets) error {
		sealed := bs.device.Get([]byte(deviceKey))
		if sealed == nil {
			return store.ErrNotFound
		}
		var err error
		d, err = v.decodeDevice(sealed)
		return err
	})
	if err != nil {
		return nil, err
	}
	return d, nil
}

// SetDevice replaces the device secrets.
func (v *Vault) SetDevice(d *store.Device) error {
	const op = "storing device secrets"
	if d == nil {
		return fmt.Errorf("vault: %s: nil device", op)
	}
	pt, err := v.enc.Marshal(d)
	if err != nil {
		return fmt.Errorf("vault: %s: %w", op, err)
	}
	return v.update(op, func(bs buckets) error {
		sealed, err := v.seal(bucketDevice, []byte(deviceKey), pt)
		if err != nil {
			return err
		}
		return bs.device.Put([]byte(deviceKey), sealed)
	})
}

// PutCredential stores c, replacing any credential with the same RP ID and
// user ID (CTAP 2.1 §6.1.2 step 17), and any credential with the same ID.
// It assigns the stored copy the next Sequence; c itself is not changed.
func (v *Vault) PutCredential(c *store.Credential) error {
	const op = "storing credential"
	if c == nil {
		return fmt.Errorf("vault: %s: nil credential", op)
	}
	return v.update(op, func(bs buckets) error {
		key := v.credKey(c.ID)
		stale := [][]byte{key}
		prefix := v.mac(tagRP, []byte(c.RPID))
		cur := bs.rp.Cursor()
		for k, sealed := cur.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, sealed = cur.Next() {
			old, err := v.credentialAt(bs, k, sealed)
			if err != nil {
				return err
			}
			if old.RPID == c.RPID && bytes.Equal(old.User.ID, c.User.ID) {
				stale = append(stale, v.credKey(old.ID))
			}
		}
		for _, k := range stale {
			if err := v.deleteCredential(bs, k); err != nil {
				return err
			}
		}

		seq, err := bs.creds.NextSequence()
		if err != nil {
			return err
		}
		stored := *c
		stored.Sequence = seq
		pt, err := v.enc.Marshal(&stored)
		if err != nil {
			return fmt.Errorf("encoding: %w", err)
		}
		sealed, err := v.seal(bucketCreds, key, pt)
		if err != nil {
			return err
		}
		if err := bs.creds.Put(key, sealed); err != nil {
			return err
		}
		rk := v.rpKey(c.RPID, seq)
		if sealed, err = v.seal(bucketRP, rk, key); err != nil {
			return err
		}
		return bs.rp.Put(rk, sealed)
	})
}

// Credential returns the credential with the given ID, or
// store.ErrNotFound.
func (v *Vault) Credential(id []byte) (*store.Credential, error) {
	var c *store.Credential
	err := v.view("reading credential", func(bs buckets) error {
		key := v.credKey(id)
		sealed := bs.creds.Get(key)
		if sealed == nil {
			return store.ErrNotFound
		}
		var err error
		c, err = v.decodeCredential(key, sealed)
		return err
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// CredentialsForRP returns the credentials of rpID, newest first.
func (v *Vault) CredentialsForRP(rpID string) ([]*store.Credential, error) {
	var out []*store.Credential
	err := v.view("listing credentials", func(bs buckets) error {
		prefix := v.mac(tagRP, []byte(rpID))
		cur := bs.rp.Cursor()
		for k, sealed := cur.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, sealed = cur.Next() {
			c, err := v.credentialAt(bs, k, sealed)
			if err != nil {
				return err
			}
			out = append(out, c)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.Reverse(out)
	return out, nil
}

// Credentials returns every credential, oldest first.
func (v *Vault) Credentials() ([]*store.Credential, error) {
	out := []*store.Credential{}
	err := v.view("listing credentials", func(bs buckets) error {
		return bs.creds.ForEach(func(k, sealed []byte) error {
			c, err := v.decodeCredential(k, sealed)
			if err != nil {
				return err
			}
			out = append(out, c)
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b *store.Credential) int { return cmp.Compare(a.Sequence, b.Sequence) })
	return out, nil
}

// UpdateCredential replaces the credential that has c's ID with c, keeping
// its Sequence, so that its place in creation order and in the RP index
// stays. c must keep the stored RP ID and user ID; store.ErrNotFound when
// no credential has the ID.
func (v *Vault) UpdateCredential(c *store.Credential) error {
	const op = "updating credential"
	if c == nil {
		return fmt.Errorf("vault: %s: nil credential", op)
	}
	return v.update(op, func(bs buckets) error {
		key := v.credKey(c.ID)
		sealed := bs.creds.Get(key)
		if sealed == nil {
			return store.ErrNotFound
		}
		old, err := v.decodeCredential(key, sealed)
		if err != nil {
			return err
		}
		if old.RPID != c.RPID || !bytes.Equal(old.User.ID, c.User.ID) {
			return errors.New("RP ID and user ID cannot change")
		}
		stored := *c
		stored.Sequence = old.Sequence
		pt, err := v.enc.Marshal(&stored)
		if err != nil {
			return fmt.Errorf("encoding: %w", err)
		}
		if sealed, err = v.seal(bucketCreds, key, pt); err != nil {
			return err
		}
		return bs.creds.Put(key, sealed)
	})
}

// CountCredentials returns the number of stored credentials.
func (v *Vault) CountCredentials() (int, error) {
	var n int
	err := v.view("counting credentials", func(bs buckets) error {
		cur := bs.creds.Cursor()
		for k, _ := cur.First(); k != nil; k, _ = cur.Next() {
			n++
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}

// DeleteCredential removes the credential with the given ID, or returns
// store.ErrNotFound.
func (v *Vault) DeleteCredential(id []byte) error {
	return v.update("deleting credential", func(bs buckets) error {
		key := v.credKey(id)
		if bs.creds.Get(key) == nil {
			return store.ErrNotFound
		}
		return v.deleteCredential(bs, key)
	})
}

// IncrementCounter adds one to the named signature counter and returns the
// new value. A counter that reaches 2^32-1 stays there: a counter that
// wrapped to zero would look like a cloned authenticator (WebAuthn L3
// §6.1.1).
func (v *Vault) IncrementCounter(name []byte) (uint32, error) {
	var n uint32
	err := v.update("incrementing counter", func(bs buckets) error {
		key := v.mac(tagCounter, name)
		n = 0
		if sealed := bs.counters.Get(key); sealed != nil {
			var err error
			if n, err = v.decodeCounter(key, sealed); err != nil {
				return err
			}
		}
		if n == math.MaxUint32 {
			return nil
		}
		n++
		return v.putCounter(bs, key, n)
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}

func (v *Vault) putCounter(bs buckets, key []byte, n uint32) error {
	sealed, err := v.seal(bucketCounters, key, binary.BigEndian.AppendUint32(nil, n))
	if err != nil {
		return err
	}
	return bs.counters.Put(key, sealed)
}

// Reset forgets every credential, counter and the device secrets. The
// vault's own keys stay, so the same passphrase or key file still opens it.
func (v *Vault) Reset() error {
	return v.updateTx("resetting", func(tx *bbolt.Tx) error {
		for _, name := range dataBuckets() {
			if err := tx.DeleteBucket([]byte(name)); err != nil {
				return err
			}
			if _, err := tx.CreateBucket([]byte(name)); err != nil {
				return err
			}
		}
		return nil
	})
}

// view runs fn in a read transaction.
func (v *Vault) view(op string, fn func(buckets) error) error {
	err := guard(v.path, func() error {
		return v.db.View(func(tx *bbolt.Tx) error {
			bs, err := v.buckets(tx)
			if err != nil {
				return err
			}
			return fn(bs)
		})
	})
	return v.wrap(op, err)
}

// update runs fn in a write transaction, which is durable once update
// returns nil.
func (v *Vault) update(op string, fn func(buckets) error) error {
	return v.updateTx(op, func(tx *bbolt.Tx) error {
		bs, err := v.buckets(tx)
		if err != nil {
			return err
		}
		return fn(bs)
	})
}

// updateTx is update with the bare transaction.
func (v *Vault) updateTx(op string, fn func(*bbolt.Tx) error) error {
	if v.readOnly {
		return fmt.Errorf("vault: %s: %s: %w", v.dir, op, ErrReadOnly)
	}
	err := guard(v.path, func() error { return v.db.Update(fn) })
	return v.wrap(op, err)
}

// wrap gives err the operation's context. store.ErrNotFound is returned
// bare, as the in-memory store does; errors about damage already name the
// file.
func (v *Vault) wrap(op string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, store.ErrNotFound):
		return store.ErrNotFound
	case errors.Is(err, ErrCorrupt):
		return err
	default:
		return fmt.Errorf("vault: %s: %s: %w", v.dir, op, err)
	}
}
