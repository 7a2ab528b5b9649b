package vault

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime/debug"
	"time"

	"github.com/fxamacker/cbor/v2"
	"go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// formatVersion is the vault layout this package reads and writes.
const formatVersion = 1

// Buckets, and the keys of the meta and device buckets.
const (
	bucketMeta     = "meta"
	bucketDevice   = "device"
	bucketCreds    = "creds"    // mac(credential ID) → Credential
	bucketRP       = "rp"       // mac(RP ID) | sequence → mac(credential ID)
	bucketCounters = "counters" // mac(name) → uint32

	metaVersion = "version"
	metaKDF     = "kdf"
	metaKey     = "key"
	metaSum     = "sum"

	deviceKey = "device"
)

// dataBuckets returns the buckets that hold records, the ones Reset
// empties.
func dataBuckets() []string {
	return []string{bucketDevice, bucketCreds, bucketRP, bucketCounters}
}

// Open opens the vault in dir, creating dir and the vault if there is none
// (unless opts.ReadOnly). A vault without a passphrase or sealer is
// unlocked by dir/vault.key, which Open creates with the vault; an existing
// vault.db is never opened with a new key file. With opts.Sealer, the
// sealed secret in dir/vault.key.sealed takes the place of vault.key.
//
// Open checks the whole file before returning. It fails with ErrWrongKey,
// ErrPassphraseRequired, ErrCorrupt or ErrInUse (wrapped, with the path).
func Open(dir string, opts Options) (*Vault, error) {
	o := &opener{
		dir:        dir,
		path:       filepath.Join(dir, DBFile),
		keyPath:    filepath.Join(dir, KeyFile),
		sealedPath: filepath.Join(dir, SealedKeyFile),
		opts:       opts,
		rand:       opts.Rand,
		timeout:    opts.LockTimeout,
	}
	defer o.forget()
	if o.rand == nil {
		o.rand = rand.Reader
	}
	if o.timeout <= 0 {
		o.timeout = DefaultLockTimeout
	}
	if opts.Passphrase != nil && len(opts.Passphrase) == 0 {
		return nil, fmt.Errorf("vault: opening %s: empty passphrase", dir)
	}
	if opts.Argon2 != nil {
		if err := opts.Argon2.validate(); err != nil {
			return nil, fmt.Errorf("vault: opening %s: %w", dir, err)
		}
	}
	var err error
	if o.enc, o.dec, err = newCodec(); err != nil {
		return nil, fmt.Errorf("vault: internal error: %w", err)
	}

	fi, err := os.Stat(o.path)
	fresh := errors.Is(err, fs.ErrNotExist) || (err == nil && fi.Mode().IsRegular() && fi.Size() == 0)
	switch {
	case fresh && opts.ReadOnly:
		return nil, fmt.Errorf("vault: opening %s: no vault there: %w", dir, fs.ErrNotExist)
	case fresh:
		if err := o.create(); err != nil {
			return nil, err
		}
	case err != nil:
		return nil, fmt.Errorf("vault: opening %s: %w", dir, err)
	case !fi.Mode().IsRegular():
		return nil, fmt.Errorf("vault: opening %s: %s is not a regular file", dir, o.path)
	}
	return o.open()
}

// opener carries the state of one Open call.
type opener struct {
	dir, path, keyPath string
	sealedPath         string
	opts               Options
	rand               io.Reader
	timeout            time.Duration
	enc                cbor.EncMode
	dec                cbor.DecMode

	// The key-encryption key made by create, so that open need not run
	// argon2id a second time for the header create wrote.
	kekFor []byte // kdfRaw the KEK belongs to
	kek    []byte
}

func (o *opener) forget() { clear(o.kek) }

// create initialises a new vault. The database is built under a temporary
// name and linked into place complete, so a crash leaves either no vault or
// a whole one.
func (o *opener) create() error {
	fail := func(err error) error { return fmt.Errorf("vault: creating %s: %w", o.dir, err) }
	if err := os.MkdirAll(o.dir, 0o700); err != nil {
		return fail(err)
	}

	kdf := kdfParams{Salt: make([]byte, saltSize)}
	if _, err := io.ReadFull(o.rand, kdf.Salt); err != nil {
		return fail(fmt.Errorf("reading randomness: %w", err))
	}
	argon2Params := func() {
		p := defaultArgon2()
		if o.opts.Argon2 != nil {
			p = *o.opts.Argon2 // validated by Open
		}
		kdf.Time, kdf.MemoryKiB, kdf.Threads = p.Time, p.MemoryKiB, p.Threads
	}
	var kek []byte
	switch {
	case o.opts.Sealer != nil:
		kdf.Kind = kdfSealed
		if o.opts.Passphrase != nil {
			kdf.Kind = kdfArgon2idAndSealed
			argon2Params()
		}
		secret, err := sealedSecret(o.sealedPath, o.opts.Sealer, o.rand, true)
		if err != nil {
			return fail(err)
		}
		kek, err = sealedKEK(kdf, secret, o.opts.Passphrase)
		clear(secret)
		if err != nil {
			return fail(err)
		}
	case o.opts.Passphrase != nil:
		kdf.Kind = kdfArgon2id
		argon2Params()
		kek = passphraseKEK(o.opts.Passphrase, kdf.Salt, kdf.argon2())
	default:
		secret, err := readKeyFile(o.keyPath)
		if errors.Is(err, fs.ErrNotExist) {
			secret, err = createKeyFile(o.keyPath, o.rand)
		}
		if err != nil {
			return fail(err)
		}
		kdf.Kind = kdfKeyFile
		kek, err = keyFileKEK(secret, kdf.Salt)
		clear(secret)
		if err != nil {
			return fail(err)
		}
	}
	o.kek = kek

	var h header
	var err error
	h.version = binary.BigEndian.AppendUint32(nil, formatVersion)
	if h.kdfRaw, err = o.enc.Marshal(kdf); err != nil {
		return fail(err)
	}
	o.kekFor = h.kdfRaw
	wrapper, err := newGCM(kek)
	if err != nil {
		return fail(err)
	}
	dataKey := make([]byte, keySize)
	defer clear(dataKey)
	if _, err := io.ReadFull(o.rand, dataKey); err != nil {
		return fail(fmt.Errorf("reading randomness: %w", err))
	}
	if h.wrapped, err = seal(wrapper, o.rand, dataKey, h.wrapAD()); err != nil {
		return fail(err)
	}

	tmp, err := os.CreateTemp(o.dir, DBFile+".tmp-*")
	if err != nil {
		return fail(err)
	}
	tmpPath := tmp.Name()
	defer os.Remove(tmpPath) // after a link, or after a failure
	if err := tmp.Close(); err != nil {
		return fail(err)
	}
	db, err := bbolt.Open(tmpPath, 0o600, &bbolt.Options{Timeout: o.timeout})
	if err != nil {
		return fail(err)
	}
	err = db.Update(func(tx *bbolt.Tx) error {
		meta, err := tx.CreateBucket([]byte(bucketMeta))
		if err != nil {
			return err
		}
		for k, v := range map[string][]byte{metaVersion: h.version, metaKDF: h.kdfRaw, metaKey: h.wrapped, metaSum: h.sum()} {
			if err := meta.Put([]byte(k), v); err != nil {
				return err
			}
		}
		for _, name := range dataBuckets() {
			if _, err := tx.CreateBucket([]byte(name)); err != nil {
				return err
			}
		}
		return nil
	})
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fail(err)
	}

	// Publish. A hard link never replaces anything; if vault.db appeared
	// meanwhile, another process created the vault and open will use it.
	// An empty vault.db is replaced.
	err = os.Link(tmpPath, o.path)
	switch {
	case err == nil:
	case errors.Is(err, fs.ErrExist):
		err = nil
		if fi, serr := os.Stat(o.path); serr == nil && fi.Mode().IsRegular() && fi.Size() == 0 {
			err = os.Rename(tmpPath, o.path)
		}
	default: // a file system without hard links
		err = os.Rename(tmpPath, o.path)
	}
	if err == nil {
		err = syncDir(o.dir)
	}
	if err != nil {
		return fail(err)
	}
	return nil
}

// open opens an existing vault: read-only first, to check the header, the
// key and every record without any chance of writing to a damaged file;
// then, unless opts.ReadOnly, again for writing.
func (o *opener) open() (*Vault, error) {
	db, err := o.bolt(true)
	if err != nil {
		return nil, err
	}
	v := &Vault{dir: o.dir, path: o.path, db: db, readOnly: true, rand: o.rand, enc: o.enc, dec: o.dec}
	closeOnErr := func(err error) (*Vault, error) {
		_ = guard(o.path, db.Close)
		return nil, err
	}

	if err := guard(o.path, func() error { return o.checkPages(db) }); err != nil {
		return closeOnErr(err)
	}
	var h header
	err = guard(o.path, func() error {
		return db.View(func(tx *bbolt.Tx) error {
			var err error
			h, err = o.readHeader(tx)
			return err
		})
	})
	if err != nil {
		return closeOnErr(err)
	}
	if err := o.unlock(v, h); err != nil {
		return closeOnErr(err)
	}
	if err := guard(o.path, func() error { return db.View(v.verify) }); err != nil {
		return closeOnErr(err)
	}
	if o.opts.ReadOnly {
		return v, nil
	}

	if err := guard(o.path, db.Close); err != nil {
		return nil, fmt.Errorf("vault: opening %s: %w", o.dir, err)
	}
	if db, err = o.bolt(false); err != nil {
		return nil, err
	}
	err = guard(o.path, func() error {
		return db.View(func(tx *bbolt.Tx) error {
			again, err := o.readHeader(tx)
			if err == nil && !again.equal(h) {
				err = fmt.Errorf("vault: opening %s: the vault changed while it was being opened", o.dir)
			}
			return err
		})
	})
	if err != nil {
		_ = guard(o.path, db.Close)
		return nil, err
	}
	v.db, v.readOnly = db, false
	return v, nil
}

// bolt opens the bbolt database, mapping its failures to ErrInUse and
// ErrCorrupt. Read-only, bbolt reads only the meta pages here; the free
// list, which bbolt trusts enough to allocate whatever length it claims,
// waits until checkPages has vouched for it. For writing, bbolt loads the
// free list at once, so only a checked file may be opened that way.
func (o *opener) bolt(readOnly bool) (*bbolt.DB, error) {
	var file *os.File
	opts := &bbolt.Options{
		Timeout:  o.timeout,
		ReadOnly: readOnly,
		OpenFile: func(name string, flag int, perm os.FileMode) (*os.File, error) {
			f, err := os.OpenFile(name, flag, perm)
			file = f
			return f, err
		},
	}
	var db *bbolt.DB
	err := guard(o.path, func() error {
		var err error
		db, err = bbolt.Open(o.path, 0o600, opts)
		return err
	})
	if err == nil {
		return db, nil
	}
	if file != nil {
		// bbolt closes the file when it fails, but not when it panics;
		// closing it releases the file lock. A second close is harmless.
		_ = file.Close()
	}
	var pathErr *fs.PathError
	switch {
	case errors.Is(err, berrors.ErrTimeout):
		return nil, fmt.Errorf("vault: opening %s: %w", o.dir, ErrInUse)
	case errors.Is(err, ErrCorrupt):
		return nil, err
	case errors.As(err, &pathErr):
		return nil, fmt.Errorf("vault: opening %s: %w", o.dir, err)
	default:
		return nil, corruptError(o.path, "opening database", err)
	}
}

// checkPages checks the page structure of db (see pages.go) before
// anything walks its tree.
func (o *opener) checkPages(db *bbolt.DB) error {
	pageSize := db.Info().PageSize
	var txid, hwm uint64
	if err := db.View(func(tx *bbolt.Tx) error {
		txid, hwm = uint64(tx.ID()), uint64(tx.Size())/uint64(pageSize)
		return nil
	}); err != nil {
		return corruptError(o.path, "reading database", err)
	}
	f, err := os.Open(o.path)
	if err != nil {
		return fmt.Errorf("vault: opening %s: %w", o.dir, err)
	}
	defer f.Close()
	if err := checkPages(f, pageSize, txid, hwm); err != nil {
		return corruptError(o.path, "page structure", err)
	}
	return nil
}

// readHeader reads and checks the meta bucket.
func (o *opener) readHeader(tx *bbolt.Tx) (header, error) {
	bad := func(what string, err error) (header, error) {
		return header{}, corruptError(o.path, what, err)
	}
	meta := tx.Bucket([]byte(bucketMeta))
	if meta == nil {
		return bad("no vault header (meta bucket)", nil)
	}
	var h header
	h.version = bytes.Clone(meta.Get([]byte(metaVersion)))
	if len(h.version) != 4 {
		return bad("malformed format version", nil)
	}
	if v := binary.BigEndian.Uint32(h.version); v != formatVersion {
		return header{}, fmt.Errorf("vault: %s has format version %d; this softkey reads version %d", o.path, v, formatVersion)
	}
	h.kdfRaw = bytes.Clone(meta.Get([]byte(metaKDF)))
	h.wrapped = bytes.Clone(meta.Get([]byte(metaKey)))
	if !bytes.Equal(meta.Get([]byte(metaSum)), h.sum()) {
		return bad("vault header checksum mismatch", nil)
	}
	if err := o.dec.Unmarshal(h.kdfRaw, &h.kdf); err != nil {
		return bad("decoding KDF parameters", err)
	}
	if err := h.kdf.validate(); err != nil {
		return bad("KDF parameters", err)
	}
	return h, nil
}

// unlock derives the key-encryption key for h, unwraps the data key and
// gives v its subkeys.
func (o *opener) unlock(v *Vault, h header) error {
	kek := o.kek
	if kek == nil || !bytes.Equal(o.kekFor, h.kdfRaw) {
		if err := o.checkSealer(h.kdf.Kind); err != nil {
			return err
		}
		switch h.kdf.Kind {
		case kdfSealed, kdfArgon2idAndSealed:
			var err error
			if kek, err = o.sealedKEK(h.kdf); err != nil {
				return err
			}
		case kdfArgon2id:
			if o.opts.Passphrase == nil {
				return fmt.Errorf("vault: opening %s: %w (none given; see %s)", o.dir, ErrPassphraseRequired, PassphraseEnv)
			}
			kek = passphraseKEK(o.opts.Passphrase, h.kdf.Salt, h.kdf.argon2())
		case kdfKeyFile:
			if o.opts.Passphrase != nil {
				return fmt.Errorf("vault: %w for %s: it is protected by its key file %s, not by a passphrase",
					ErrWrongKey, o.dir, o.keyPath)
			}
			secret, err := readKeyFile(o.keyPath)
			if errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("vault: opening %s: the vault is locked by its key file, which is missing: %w", o.dir, err)
			}
			if err != nil {
				return fmt.Errorf("vault: opening %s: %w", o.dir, err)
			}
			kek, err = keyFileKEK(secret, h.kdf.Salt)
			clear(secret)
			if err != nil {
				return fmt.Errorf("vault: opening %s: %w", o.dir, err)
			}
		}
		clear(o.kek)
		o.kek, o.kekFor = kek, h.kdfRaw
	}

	wrapper, err := newGCM(kek)
	if err != nil {
		return fmt.Errorf("vault: opening %s: %w", o.dir, err)
	}
	dataKey, err := unseal(wrapper, h.wrapped, h.wrapAD())
	if err != nil || len(dataKey) != keySize {
		// The header checksum matched, so the header is as written:
		// the key is wrong.
		return fmt.Errorf("vault: %w for %s", ErrWrongKey, o.dir)
	}
	defer clear(dataKey)
	if v.records, v.index, err = subkeys(dataKey); err != nil {
		return fmt.Errorf("vault: opening %s: %w", o.dir, err)
	}
	return nil
}

// checkSealer refuses the combinations of a vault's KDF kind and
// opts.Sealer that cannot unlock it, with the reason.
func (o *opener) checkSealer(kind string) error {
	sealed := kind == kdfSealed || kind == kdfArgon2idAndSealed
	switch {
	case sealed && o.opts.Sealer == nil:
		return fmt.Errorf("vault: %w for %s: its key is sealed to a TPM: use --keystore tpm", ErrWrongKey, o.dir)
	case !sealed && o.opts.Sealer != nil:
		return fmt.Errorf("vault: %w for %s: its key is not sealed to a TPM (it was created without --keystore tpm)", ErrWrongKey, o.dir)
	}
	return nil
}

// sealedKEK unseals the secret in the sealed key file and derives the
// key-encryption key of a vault locked by a KeySealer.
func (o *opener) sealedKEK(kdf kdfParams) ([]byte, error) {
	switch {
	case kdf.Kind == kdfSealed && o.opts.Passphrase != nil:
		return nil, fmt.Errorf("vault: %w for %s: it is sealed to a TPM, not protected by a passphrase", ErrWrongKey, o.dir)
	case kdf.Kind == kdfArgon2idAndSealed && o.opts.Passphrase == nil:
		return nil, fmt.Errorf("vault: opening %s: %w (none given; see %s): it is sealed to a TPM and protected by a passphrase as well",
			o.dir, ErrPassphraseRequired, PassphraseEnv)
	}
	secret, err := sealedSecret(o.sealedPath, o.opts.Sealer, o.rand, false)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("vault: opening %s: the vault is sealed to a TPM, and its sealed key file is missing: %w", o.dir, err)
	case errors.Is(err, fs.ErrPermission):
		return nil, fmt.Errorf("vault: opening %s: %w", o.dir, err)
	case err != nil:
		// The sealed key file does not unseal here: another machine's
		// TPM, a cleared TPM, or a damaged file.
		return nil, fmt.Errorf("vault: %w for %s: %w", ErrWrongKey, o.dir, err)
	}
	defer clear(secret)
	kek, err := sealedKEK(kdf, secret, o.opts.Passphrase)
	if err != nil {
		return nil, fmt.Errorf("vault: opening %s: %w", o.dir, err)
	}
	return kek, nil
}

// verify checks every record in tx: that it decrypts, decodes and is
// indexed as it should be. Then bbolt checks its own invariants (key order,
// free pages); checkPages has made sure that its walk will end.
func (v *Vault) verify(tx *bbolt.Tx) error {
	bs, err := v.buckets(tx)
	if err != nil {
		return err
	}
	nested := func(name string) error {
		return corruptError(v.path, fmt.Sprintf("unexpected nested bucket in %q", name), nil)
	}

	var creds int
	err = bs.creds.ForEach(func(k, sealed []byte) error {
		if sealed == nil {
			return nested(bucketCreds)
		}
		c, err := v.decodeCredential(k, sealed)
		if err != nil {
			return err
		}
		rk := v.rpKey(c.RPID, c.Sequence)
		if ck, err := v.indexEntry(bs.rp, rk, bs.rp.Get(rk)); err != nil || !bytes.Equal(ck, k) {
			return corruptError(v.path, "credential missing from the RP index", err)
		}
		creds++
		return nil
	})
	if err != nil {
		return err
	}
	var entries int
	err = bs.rp.ForEach(func(k, sealed []byte) error {
		if sealed == nil {
			return nested(bucketRP)
		}
		entries++
		_, err := v.indexEntry(bs.rp, k, sealed)
		return err
	})
	if err != nil {
		return err
	}
	if entries != creds {
		return corruptError(v.path, fmt.Sprintf("RP index has %d entries for %d credentials", entries, creds), nil)
	}
	err = bs.counters.ForEach(func(k, sealed []byte) error {
		if sealed == nil {
			return nested(bucketCounters)
		}
		_, err := v.decodeCounter(k, sealed)
		return err
	})
	if err != nil {
		return err
	}
	err = bs.device.ForEach(func(k, sealed []byte) error {
		if sealed == nil || string(k) != deviceKey {
			return corruptError(v.path, "unexpected record in the device bucket", nil)
		}
		_, err := v.decodeDevice(sealed)
		return err
	})
	if err != nil {
		return err
	}

	var problems []error
	for err := range tx.Check(bbolt.WithKVStringer(lengthStringer{})) {
		problems = append(problems, err)
	}
	if len(problems) > 0 {
		return corruptError(v.path, "bbolt consistency check", errors.Join(problems...))
	}
	return nil
}

// lengthStringer describes keys and values in bbolt's check messages by
// length only: the default hex dump can be gigabytes for a damaged length,
// and the values are secret anyway.
type lengthStringer struct{}

func (lengthStringer) KeyToString(k []byte) string   { return fmt.Sprintf("<%d-byte key>", len(k)) }
func (lengthStringer) ValueToString(v []byte) string { return fmt.Sprintf("<%d-byte value>", len(v)) }

// guard runs fn, turning a panic or a memory fault (bbolt reads the file
// through mmap, so a damaged or truncated file can fault) into ErrCorrupt.
func guard(path string, fn func() error) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			err = corruptError(path, "reading database", fmt.Errorf("bbolt failed: %v", r))
		}
	}()
	return fn()
}

// syncDir makes a new directory entry in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
