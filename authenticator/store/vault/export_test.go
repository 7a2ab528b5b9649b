package vault

import (
	"path/filepath"

	"go.etcd.io/bbolt"
)

// Hooks for the external tests.

// SetCounterForTest sets the named counter to n.
func (v *Vault) SetCounterForTest(name []byte, n uint32) error {
	return v.update("setting counter", func(bs buckets) error {
		return v.putCounter(bs, v.mac(tagCounter, name), n)
	})
}

// PutRawForTest writes value under the record key of a credential ID,
// bypassing encryption.
func (v *Vault) PutRawForTest(id, value []byte) error {
	return v.updateTx("writing raw record", func(tx *bbolt.Tx) error {
		return tx.Bucket([]byte(bucketCreds)).Put(v.credKey(id), value)
	})
}

// KDFForTest returns the KDF kind and argon2id parameters in the header of
// the vault in dir.
func KDFForTest(dir string) (string, Argon2Params, error) {
	o := &opener{path: filepath.Join(dir, DBFile)}
	var err error
	if o.enc, o.dec, err = newCodec(); err != nil {
		return "", Argon2Params{}, err
	}
	db, err := bbolt.Open(o.path, 0o600, &bbolt.Options{ReadOnly: true})
	if err != nil {
		return "", Argon2Params{}, err
	}
	defer db.Close()
	var h header
	err = db.View(func(tx *bbolt.Tx) error {
		h, err = o.readHeader(tx)
		return err
	})
	return h.kdf.Kind, h.kdf.argon2(), err
}
