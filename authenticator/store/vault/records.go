package vault

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"fmt"

	"github.com/fxamacker/cbor/v2"
	"go.etcd.io/bbolt"

	"github.com/softkeydev/softkey/authenticator/store"
)

// newCodec returns the CBOR modes for records: CTAP2 canonical encoding,
// except that times are RFC 3339 text in UTC with nanoseconds (CTAP2's
// integer seconds would lose precision), and a strict decoder.
func newCodec() (cbor.EncMode, cbor.DecMode, error) {
	eo := cbor.CTAP2EncOptions()
	eo.Time = cbor.TimeRFC3339NanoUTC
	enc, err := eo.EncMode()
	if err != nil {
		return nil, nil, fmt.Errorf("building CBOR encoder: %w", err)
	}
	dec, err := cbor.DecOptions{
		DupMapKey:   cbor.DupMapKeyEnforcedAPF,
		IndefLength: cbor.IndefLengthForbidden,
		TagsMd:      cbor.TagsForbidden,
		UTF8:        cbor.UTF8RejectInvalid,
	}.DecMode()
	if err != nil {
		return nil, nil, fmt.Errorf("building CBOR decoder: %w", err)
	}
	return enc, dec, nil
}

// Domain tags for mac, one per kind of name.
const (
	tagCredential byte = iota + 1
	tagRP
	tagCounter
)

// mac turns a name into a record key: HMAC-SHA256 under the index key.
func (v *Vault) mac(tag byte, name []byte) []byte {
	m := hmac.New(sha256.New, v.index)
	m.Write([]byte{tag})
	m.Write(name)
	return m.Sum(nil)
}

func (v *Vault) credKey(id []byte) []byte { return v.mac(tagCredential, id) }

// rpKey is the RP index key of a credential: mac(RP ID) | sequence, so a
// prefix scan finds an RP's credentials in order of creation.
func (v *Vault) rpKey(rpID string, seq uint64) []byte {
	return binary.BigEndian.AppendUint64(v.mac(tagRP, []byte(rpID)), seq)
}

// recordAD is the additional data sealing a record: its bucket and key.
// Bucket names hold no NUL, so the encoding is unambiguous.
func recordAD(bucket string, key []byte) []byte {
	ad := make([]byte, 0, len(bucket)+1+len(key))
	ad = append(ad, bucket...)
	ad = append(ad, 0)
	return append(ad, key...)
}

// seal encrypts a record value for bucket and key. Each call draws a fresh
// 96-bit random nonce; NIST SP 800-38D §8.3 allows 2^32 such writes under
// one key, decades of signatures at any realistic rate.
func (v *Vault) seal(bucket string, key, plaintext []byte) ([]byte, error) {
	return seal(v.records, v.rand, plaintext, recordAD(bucket, key))
}

// unseal decrypts a record value, reporting failure as ErrCorrupt.
func (v *Vault) unseal(bucket string, key, sealed []byte) ([]byte, error) {
	pt, err := unseal(v.records, sealed, recordAD(bucket, key))
	if err != nil {
		return nil, corruptError(v.path, fmt.Sprintf("decrypting a record in %q", bucket), err)
	}
	return pt, nil
}

func (v *Vault) decodeCredential(key, sealed []byte) (*store.Credential, error) {
	pt, err := v.unseal(bucketCreds, key, sealed)
	if err != nil {
		return nil, err
	}
	c := new(store.Credential)
	if err := v.dec.Unmarshal(pt, c); err != nil {
		return nil, corruptError(v.path, "decoding a credential", err)
	}
	if !hmac.Equal(v.credKey(c.ID), key) {
		return nil, corruptError(v.path, "credential stored under another ID", nil)
	}
	return c, nil
}

// indexEntry returns the credential key an RP index entry points to.
func (v *Vault) indexEntry(rp *bbolt.Bucket, key, sealed []byte) ([]byte, error) {
	if sealed == nil {
		return nil, corruptError(v.path, "missing RP index entry", nil)
	}
	ck, err := v.unseal(bucketRP, key, sealed)
	if err != nil {
		return nil, err
	}
	if len(ck) != sha256.Size {
		return nil, corruptError(v.path, "malformed RP index entry", nil)
	}
	return ck, nil
}

// credentialAt returns the credential an RP index entry points to.
func (v *Vault) credentialAt(bs buckets, key, sealed []byte) (*store.Credential, error) {
	ck, err := v.indexEntry(bs.rp, key, sealed)
	if err != nil {
		return nil, err
	}
	cv := bs.creds.Get(ck)
	if cv == nil {
		return nil, corruptError(v.path, "RP index entry for a missing credential", nil)
	}
	c, err := v.decodeCredential(ck, cv)
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(v.rpKey(c.RPID, c.Sequence), key) {
		return nil, corruptError(v.path, "RP index entry for another credential", nil)
	}
	return c, nil
}

func (v *Vault) decodeCounter(key, sealed []byte) (uint32, error) {
	pt, err := v.unseal(bucketCounters, key, sealed)
	if err != nil {
		return 0, err
	}
	if len(pt) != 4 {
		return 0, corruptError(v.path, "malformed counter", nil)
	}
	return binary.BigEndian.Uint32(pt), nil
}

func (v *Vault) decodeDevice(sealed []byte) (*store.Device, error) {
	pt, err := v.unseal(bucketDevice, []byte(deviceKey), sealed)
	if err != nil {
		return nil, err
	}
	d := new(store.Device)
	if err := v.dec.Unmarshal(pt, d); err != nil {
		return nil, corruptError(v.path, "decoding device secrets", err)
	}
	return d, nil
}

// buckets are the record buckets of one transaction.
type buckets struct {
	device, creds, rp, counters *bbolt.Bucket
}

func (v *Vault) buckets(tx *bbolt.Tx) (buckets, error) {
	var bs buckets
	for _, b := range []struct {
		name string
		dst  **bbolt.Bucket
	}{
		{bucketDevice, &bs.device},
		{bucketCreds, &bs.creds},
		{bucketRP, &bs.rp},
		{bucketCounters, &bs.counters},
	} {
		if *b.dst = tx.Bucket([]byte(b.name)); *b.dst == nil {
			return buckets{}, corruptError(v.path, fmt.Sprintf("missing bucket %q", b.name), nil)
		}
	}
	return bs, nil
}

// deleteCredential removes the credential stored under key, and its RP
// index entry. A missing credential is not an error.
func (v *Vault) deleteCredential(bs buckets, key []byte) error {
	sealed := bs.creds.Get(key)
	if sealed == nil {
		return nil
	}
	c, err := v.decodeCredential(key, sealed)
	if err != nil {
		return err
	}
	if err := bs.rp.Delete(v.rpKey(c.RPID, c.Sequence)); err != nil {
		return err
	}
	return bs.creds.Delete(key)
}
