package testvectors

import (
	"bufio"
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hkdf"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/softkeydev/softkey/attestation"
	"github.com/softkeydev/softkey/ctap2"
)

// The W3C vectors' relying party (WebAuthn L3 §16.1).
const (
	w3cRPID   = "example.org"
	w3cOrigin = "https://example.org"
)

// w3cVector is one section of WebAuthn L3 §16: its registration and its
// authentication example.
type w3cVector struct {
	name           string // the file name without extension
	registration   w3cBlock
	authentication w3cBlock
}

// w3cBlock is one generated example block: name = h'hex' lines.
type w3cBlock struct {
	anchor  string // the example's URL
	values  map[string][]byte
	derived map[string]hkdfDerivation // for the values the block derives
}

// hkdfDerivation is a "; Derived by: HKDF-SHA-256(...)" annotation.
type hkdfDerivation struct {
	ikm    string
	salt   []byte
	info   string
	length int
}

// w3cLine matches a value line of a generated block. The RSA primes are
// written "private_key_p = 2^1279 - 1 = h'…'", and some values carry their
// base64url form after the hex.
var w3cLine = regexp.MustCompile(`^(\w+) = (?:2\^\d+ - 1 = )?h'([0-9a-f]*)'` +
	`(?: = b64'([A-Za-z0-9_-]*)')?` +
	`(?:\s+; Derived by: HKDF-SHA-256\(IKM='([^']*)', salt=h'([0-9a-f]*)', info='([^']*)', L=(\d+)\))?\s*$`)

// loadW3CVectors reads every file of testdata/w3c. The parser is strict:
// a line that is not a comment, a section header or a value line fails the
// test, so that a damaged file cannot drop a value silently.
func loadW3CVectors(t *testing.T) []w3cVector {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join("testdata", "w3c", "*.txt"))
	require.NoError(t, err)
	require.NotEmpty(t, paths, "no vectors in testdata/w3c")
	var out []w3cVector
	for _, path := range paths {
		v, err := parseW3CVector(path)
		require.NoError(t, err)
		out = append(out, v)
	}
	return out
}

func parseW3CVector(path string) (w3cVector, error) {
	f, err := os.Open(path)
	if err != nil {
		return w3cVector{}, err
	}
	defer f.Close()
	v := w3cVector{name: strings.TrimSuffix(filepath.Base(path), ".txt")}
	var cur *w3cBlock
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "", strings.HasPrefix(line, "#"), strings.HasPrefix(line, ";"):
			continue
		case strings.HasPrefix(line, "[registration]"):
			cur = &v.registration
			cur.anchor = strings.TrimSpace(strings.TrimPrefix(line, "[registration]"))
			continue
		case strings.HasPrefix(line, "[authentication]"):
			cur = &v.authentication
			cur.anchor = strings.TrimSpace(strings.TrimPrefix(line, "[authentication]"))
			continue
		}
		m := w3cLine.FindStringSubmatch(line)
		if m == nil || cur == nil {
			return v, fmt.Errorf("%s:%d: not a value line inside a block: %q", path, n, line)
		}
		name := m[1]
		value, err := hex.DecodeString(m[2])
		if err != nil {
			return v, fmt.Errorf("%s:%d: %s: %v", path, n, name, err)
		}
		if cur.values == nil {
			cur.values = map[string][]byte{}
			cur.derived = map[string]hkdfDerivation{}
		}
		if _, dup := cur.values[name]; dup {
			return v, fmt.Errorf("%s:%d: %s appears twice in the block", path, n, name)
		}
		cur.values[name] = value
		if m[3] != "" && m[3] != base64.RawURLEncoding.EncodeToString(value) {
			return v, fmt.Errorf("%s:%d: %s: b64'%s' is not the base64url form of the hex", path, n, name, m[3])
		}
		if m[4] != "" {
			salt, err := hex.DecodeString(m[5])
			if err != nil {
				return v, fmt.Errorf("%s:%d: %s: salt: %v", path, n, name, err)
			}
			length, err := strconv.Atoi(m[7])
			if err != nil {
				return v, fmt.Errorf("%s:%d: %s: L: %v", path, n, name, err)
			}
			cur.derived[name] = hkdfDerivation{ikm: m[4], salt: salt, info: m[6], length: length}
		}
	}
	if err := sc.Err(); err != nil {
		return v, err
	}
	if v.registration.values == nil || v.authentication.values == nil {
		return v, fmt.Errorf("%s: want a registration and an authentication block", path)
	}
	return v, nil
}

// get returns a value of the block, failing the test if it is missing.
func (b w3cBlock) get(t *testing.T, name string) []byte {
	t.Helper()
	v, ok := b.values[name]
	require.True(t, ok, "vector block %s has no %s", b.anchor, name)
	return v
}

// TestW3CVectorDerivations recomputes every value the vectors say they
// derived with HKDF-SHA-256 (RFC 5869) from the seed 'WebAuthn test
// vectors', so that a value mistyped into testdata fails here rather than
// being taken for a softkey bug.
func TestW3CVectorDerivations(t *testing.T) {
	for _, v := range loadW3CVectors(t) {
		t.Run(v.name, func(t *testing.T) {
			count := 0
			for _, b := range []w3cBlock{v.registration, v.authentication} {
				for name, d := range b.derived {
					got, err := hkdf.Key(sha256.New, []byte(d.ikm), d.salt, d.info, d.length)
					require.NoError(t, err)
					require.Equal(t, hex.EncodeToString(b.values[name]), hex.EncodeToString(got),
						"%s (%s): HKDF-SHA-256(IKM=%q, salt=%x, info=%q, L=%d) disagrees with the value in testdata",
						name, b.anchor, d.ikm, d.salt, d.info, d.length)
					count++
				}
			}
			require.NotZero(t, count, "no derived values found")
		})
	}
}

// w3cCredential is the credential key pair of a vector.
type w3cCredential struct {
	alg ctap2.Alg
	key crypto.Signer
}

// credential builds the vector's credential private key from the block:
// credential_private_key is a P-256 scalar, private_key an Ed25519 seed, and
// private_key_p and private_key_q the primes of an RSA key with e = 65537.
func (b w3cBlock) credential(t *testing.T) w3cCredential {
	t.Helper()
	switch {
	case b.values["credential_private_key"] != nil:
		key, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), b.values["credential_private_key"])
		require.NoError(t, err, "credential_private_key")
		return w3cCredential{ctap2.AlgES256, key}
	case b.values["private_key"] != nil:
		seed := b.values["private_key"]
		require.Len(t, seed, ed25519.SeedSize, "private_key")
		return w3cCredential{ctap2.AlgEdDSA, ed25519.NewKeyFromSeed(seed)}
	case b.values["private_key_p"] != nil:
		p := new(big.Int).SetBytes(b.get(t, "private_key_p"))
		q := new(big.Int).SetBytes(b.get(t, "private_key_q"))
		one := big.NewInt(1)
		// The annotation says 2^1279 - 1 and 2^2203 - 1; hold the hex to it.
		require.Zero(t, p.Cmp(new(big.Int).Sub(new(big.Int).Lsh(one, 1279), one)), "private_key_p is not 2^1279 - 1")
		require.Zero(t, q.Cmp(new(big.Int).Sub(new(big.Int).Lsh(one, 2203), one)), "private_key_q is not 2^2203 - 1")
		return w3cCredential{ctap2.AlgRS256, rsaKeyFromPrimes(t, p, q)}
	}
	t.Fatalf("vector block %s has no credential private key", b.anchor)
	return w3cCredential{}
}

// rsaKeyFromPrimes builds the RSA private key with public exponent 65537.
func rsaKeyFromPrimes(t *testing.T, p, q *big.Int) *rsa.PrivateKey {
	t.Helper()
	one := big.NewInt(1)
	e := big.NewInt(65537)
	phi := new(big.Int).Mul(new(big.Int).Sub(p, one), new(big.Int).Sub(q, one))
	d := new(big.Int).ModInverse(e, phi)
	require.NotNil(t, d, "65537 is not invertible modulo φ(pq)")
	key := &rsa.PrivateKey{
		PublicKey: rsa.PublicKey{N: new(big.Int).Mul(p, q), E: 65537},
		D:         d,
		Primes:    []*big.Int{p, q},
	}
	require.NoError(t, key.Validate(), "RSA key from the vector's primes")
	key.Precompute()
	return key
}

// webauthnAttestationObject is the attestation object of WebAuthn L3
// §6.5.4, with text keys; CTAP2 canonical encoding orders them fmt,
// attStmt, authData.
type webauthnAttestationObject struct {
	Format   string           `cbor:"fmt"`
	AttStmt  ctap2.RawMessage `cbor:"attStmt"`
	AuthData []byte           `cbor:"authData"`
}

// registrationFlags is the flags byte of a vector's registration: UP and AT,
// plus the UV, BE and BS bits of auth_data_UV_BE_BS, where BS counts only
// with BE (the rule the vector block states in its comment).
func registrationFlags(uvBEBS byte) ctap2.Flags {
	f := ctap2.Flags(uvBEBS) & (ctap2.FlagUV | ctap2.FlagBE | ctap2.FlagBS)
	if f&ctap2.FlagBE == 0 {
		f &^= ctap2.FlagBS
	}
	return f | ctap2.FlagUP | ctap2.FlagAT
}

// authenticationFlags is the flags byte of a vector's assertion: UP, BE as
// registered, and the UV and BS bits of auth_data_UV_BS, where BS counts only
// if BE was registered.
func authenticationFlags(uvBS byte, registered ctap2.Flags) ctap2.Flags {
	f := ctap2.Flags(uvBS) & (ctap2.FlagUV | ctap2.FlagBS)
	if registered&ctap2.FlagBE == 0 {
		f &^= ctap2.FlagBS
	}
	return f | ctap2.FlagUP | registered&ctap2.FlagBE
}

// checkClientData checks that a vector's clientDataJSON is for the ceremony
// and challenge the block says, so that the clientDataHash signed below is
// the right one.
func checkClientData(t *testing.T, b w3cBlock, wantType string) []byte {
	t.Helper()
	raw := b.get(t, "clientDataJSON")
	var cd struct {
		Type      string `json:"type"`
		Challenge string `json:"challenge"`
		Origin    string `json:"origin"`
	}
	require.NoError(t, json.Unmarshal(raw, &cd), "clientDataJSON of %s", b.anchor)
	require.Equal(t, wantType, cd.Type, "clientDataJSON type of %s", b.anchor)
	require.Equal(t, base64.RawURLEncoding.EncodeToString(b.get(t, "challenge")), cd.Challenge, "clientDataJSON challenge of %s", b.anchor)
	require.Equal(t, w3cOrigin, cd.Origin, "clientDataJSON origin of %s", b.anchor)
	h := sha256.Sum256(raw)
	return h[:]
}

// TestW3CVectors rebuilds each vector with softkey's building blocks and
// requires the result to equal the vector bit for bit:
//
//   - the COSE_Key of the credential public key ([ctap2.MarshalCOSEKey]);
//   - the registration's authenticator data ([ctap2.AuthData.Marshal]);
//   - the attestation statement ([attestation.None], [attestation.Self],
//     [attestation.Packed], [attestation.FIDOU2F], and
//     [attestation.TPM] with the generator's fixed choices, see
//     [checkW3CTPM]; the ECDSA attestation signatures are RFC 6979) and the
//     whole attestation object;
//   - the assertion's authenticator data and signature ([attestation.Sign]).
func TestW3CVectors(t *testing.T) {
	rpIDHash := ctap2.RPIDHash(w3cRPID)
	for _, v := range loadW3CVectors(t) {
		t.Run(v.name, func(t *testing.T) {
			reg, auth := v.registration, v.authentication
			cred := reg.credential(t)

			// The vector's attestation object, decoded for its parts.
			var want webauthnAttestationObject
			require.NoError(t, ctap2.Unmarshal(reg.get(t, "attestationObject"), &want), "decoding the vector's attestation object")
			wantAuthData, err := ctap2.ParseAuthData(want.AuthData)
			require.NoError(t, err, "parsing the vector's authenticator data")
			require.NotNil(t, wantAuthData.Attested, "the vector's authenticator data has no attested credential data")

			// COSE_Key of the credential public key.
			coseKey, err := ctap2.MarshalCOSEKey(cred.alg, cred.key.Public())
			require.NoError(t, err)
			require.Equal(t, hex.EncodeToString(wantAuthData.Attested.PublicKey), hex.EncodeToString(coseKey),
				"MarshalCOSEKey(%v, public key of the vector's private key) differs from the vector's credentialPublicKey", cred.alg)
			alg, pub, err := ctap2.ParseCOSEKey(wantAuthData.Attested.PublicKey)
			require.NoError(t, err, "ParseCOSEKey of the vector's credentialPublicKey")
			require.Equal(t, cred.alg, alg)
			eq, ok := pub.(interface{ Equal(crypto.PublicKey) bool })
			require.True(t, ok, "ParseCOSEKey returned a %T", pub)
			require.True(t, eq.Equal(cred.key.Public()), "ParseCOSEKey returned another public key than the vector's private key has")

			// Registration authenticator data.
			cdh := checkClientData(t, reg, "webauthn.create")
			var aaguid [16]byte
			require.Len(t, reg.get(t, "aaguid"), 16)
			copy(aaguid[:], reg.get(t, "aaguid"))
			flags := vectorRegistrationFlags(t, reg, want.Format)
			authData, err := (&ctap2.AuthData{
				RPIDHash: rpIDHash,
				Flags:    flags,
				Attested: &ctap2.AttestedCredential{
					AAGUID:       aaguid,
					CredentialID: reg.get(t, "credential_id"),
					PublicKey:    coseKey,
				},
			}).Marshal()
			require.NoError(t, err)
			require.Equal(t, hex.EncodeToString(want.AuthData), hex.EncodeToString(authData),
				"registration authenticator data (flags %#02x, %d-byte credential ID)", uint8(flags), len(reg.get(t, "credential_id")))
			again, err := wantAuthData.Marshal()
			require.NoError(t, err)
			require.Equal(t, want.AuthData, again, "ParseAuthData then Marshal does not give the vector's authenticator data back")

			// Attestation statement and object.
			var stmt attestation.Statement
			switch {
			case want.Format == attestation.FormatNone:
				stmt = attestation.None()
			case strings.HasPrefix(v.name, "packed-self-"):
				stmt, err = attestation.Self(authData, cdh, cred.key, cred.alg)
				require.NoError(t, err)
			case strings.HasPrefix(v.name, "packed-"):
				attKey, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), reg.get(t, "attestation_private_key"))
				require.NoError(t, err, "attestation_private_key")
				// The attestation certificate exists only inside the
				// vector's attestation object; it is an input here.
				var wantStmt struct {
					X5C [][]byte `cbor:"x5c"`
				}
				require.NoError(t, ctap2.Unmarshal(want.AttStmt, &wantStmt))
				require.Len(t, wantStmt.X5C, 1, "the vector's x5c")
				cert, err := x509.ParseCertificate(wantStmt.X5C[0])
				require.NoError(t, err, "the vector's attestation certificate")
				require.True(t, attKey.PublicKey.Equal(cert.PublicKey), "the vector's attestation certificate does not certify attestation_private_key")
				require.Equal(t, reg.get(t, "attestation_cert_serial_number"), cert.SerialNumber.Bytes(), "attestation certificate serial number")
				stmt, err = attestation.Packed(authData, cdh, attKey, wantStmt.X5C)
				require.NoError(t, err)
			case want.Format == attestation.FormatFIDOU2F:
				attKey, x5c := vectorAttestationKey(t, reg, want.AttStmt)
				stmt, err = attestation.FIDOU2F(authData, cdh, attKey, x5c[0])
				require.NoError(t, err)
			case want.Format == attestation.FormatTPM:
				// checkW3CTPM compares pubArea and certInfo field by
				// field first, so that a mismatch names its field.
				stmt = checkW3CTPM(t, reg, want.AttStmt, authData, cdh, cred)
			default:
				t.Fatalf("no rule for attestation format %q of vector %s", want.Format, v.name)
			}
			require.Equal(t, want.Format, stmt.Format, "attestation statement format")
			require.Equal(t, hex.EncodeToString(want.AttStmt), hex.EncodeToString(stmt.Stmt), "attStmt")
			attObj, err := ctap2.Marshal(webauthnAttestationObject{Format: stmt.Format, AttStmt: stmt.Stmt, AuthData: authData})
			require.NoError(t, err)
			require.Equal(t, hex.EncodeToString(reg.get(t, "attestationObject")), hex.EncodeToString(attObj), "attestation object")

			// Assertion.
			cdh = checkClientData(t, auth, "webauthn.get")
			assertFlags := authenticationFlags(auth.get(t, "auth_data_UV_BS")[0], flags)
			assertAuthData, err := (&ctap2.AuthData{RPIDHash: rpIDHash, Flags: assertFlags}).Marshal()
			require.NoError(t, err)
			require.Equal(t, hex.EncodeToString(auth.get(t, "authenticatorData")), hex.EncodeToString(assertAuthData),
				"assertion authenticator data (flags %#02x)", uint8(assertFlags))
			sig, err := attestation.Sign(cred.key, cred.alg, bytes.Join([][]byte{assertAuthData, cdh}, nil))
			require.NoError(t, err)
			require.Equal(t, hex.EncodeToString(auth.get(t, "signature")), hex.EncodeToString(sig),
				"attestation.Sign(%v) over authenticatorData ‖ SHA-256(clientDataJSON)", cred.alg)
		})
	}
}
