package mds

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"time"
)

// LegalHeader is the legalHeader of every BLOB this package writes, and of
// statements that do not set their own.
const LegalHeader = "Test metadata minted by softkey for relying-party testing. Not issued by the FIDO Alliance; do not use for production trust decisions."

// header is the JWS protected header of a BLOB (MDS 3.0 §3.1.7; RFC 7515
// §4.1).
type header struct {
	Alg string `json:"alg"`
	Typ string `json:"typ"`
	// X5C holds standard-base64 DER certificates, the signing certificate
	// first (RFC 7515 §4.1.6).
	X5C []string `json:"x5c,omitempty"`
}

// payload is the Metadata BLOB Payload dictionary (MDS 3.0 §3.1.6).
type payload struct {
	LegalHeader string  `json:"legalHeader"`
	No          int     `json:"no"`
	NextUpdate  string  `json:"nextUpdate"`
	Entries     []Entry `json:"entries"`
}

// EncodeBLOB returns a Metadata BLOB (MDS 3.0 §3.1.7): a JWT in JWS compact
// serialization, signed with ES256 by signer, whose payload (§3.1.6)
// carries the entries, the serial number no and the date of the next
// update.
//
// chain is the signing certificate, whose key must be signer's, followed by
// any intermediates up to (and optionally including) the trust anchor the
// relying party is configured with; it becomes the header's x5c. With no
// chain the header has no x5c, and signer's key must be the trust anchor's
// own (MDS 3.0, Metadata BLOB object processing rules: without x5c the
// trust anchor is the signing certificate). Some
// verifiers, go-webauthn among them, accept a one-certificate x5c only when
// it is the trust anchor itself: give the signing certificate with its
// intermediate.
//
// Every entry is checked before anything is signed: each needs an AAGUID
// (a U2F entry: attestation certificate key identifiers), a status report,
// a date of last status change and a complete statement (FIDO Metadata
// Statement v3.0 §4), and no AAGUID or key identifier may appear twice. A
// statement without an AAGUID, key identifiers or a legal header takes the
// entry's and [LegalHeader]; the caller's entries are not modified.
//
// An *ecdsa.PrivateKey signs deterministically (RFC 6979), so the same
// arguments give the same BLOB; other signers are given crypto/rand.
func EncodeBLOB(entries []Entry, no int, nextUpdate time.Time, signer crypto.Signer, chain []*x509.Certificate) (string, error) {
	if no < 0 {
		return "", fmt.Errorf("mds: encoding BLOB: serial number %d is negative", no)
	}
	if nextUpdate.IsZero() {
		return "", errors.New("mds: encoding BLOB: nextUpdate is missing")
	}
	if signer == nil {
		return "", errors.New("mds: encoding BLOB: no signer")
	}
	if err := checkSigner(signer, chain); err != nil {
		return "", fmt.Errorf("mds: encoding BLOB: %w", err)
	}

	filled := make([]Entry, len(entries))
	seen := make(map[AAGUID]int, len(entries))
	seenKeyIDs := make(map[string]int)
	for i, e := range entries {
		if e.MetadataStatement.AAGUID.IsZero() {
			e.MetadataStatement.AAGUID = e.AAGUID
		}
		if len(e.MetadataStatement.AttestationCertificateKeyIdentifiers) == 0 {
			e.MetadataStatement.AttestationCertificateKeyIdentifiers = e.AttestationCertificateKeyIdentifiers
		}
		if e.MetadataStatement.LegalHeader == "" {
			e.MetadataStatement.LegalHeader = LegalHeader
		}
		if err := e.validate(); err != nil {
			return "", fmt.Errorf("mds: encoding BLOB: entries[%d] (%v): %w", i, e.AAGUID, err)
		}
		if j, dup := seen[e.AAGUID]; dup && !e.AAGUID.IsZero() {
			return "", fmt.Errorf("mds: encoding BLOB: entries[%d] and entries[%d] have the same aaguid %v", j, i, e.AAGUID)
		}
		seen[e.AAGUID] = i
		for _, id := range e.AttestationCertificateKeyIdentifiers {
			if j, dup := seenKeyIDs[id]; dup {
				return "", fmt.Errorf("mds: encoding BLOB: entries[%d] and entries[%d] have the same attestation certificate key identifier %s", j, i, id)
			}
			seenKeyIDs[id] = i
		}
		filled[i] = e
	}

	h := header{Alg: "ES256", Typ: "JWT"}
	for _, c := range chain {
		h.X5C = append(h.X5C, base64.StdEncoding.EncodeToString(c.Raw))
	}
	headerJSON, err := marshal(h)
	if err != nil {
		return "", fmt.Errorf("mds: encoding BLOB header: %w", err)
	}
	payloadJSON, err := marshal(payload{
		LegalHeader: LegalHeader,
		No:          no,
		NextUpdate:  date(nextUpdate),
		Entries:     filled,
	})
	if err != nil {
		return "", fmt.Errorf("mds: encoding BLOB payload: %w", err)
	}

	b64 := base64.RawURLEncoding
	signingInput := b64.EncodeToString(headerJSON) + "." + b64.EncodeToString(payloadJSON)
	sig, err := signES256(signer, []byte(signingInput))
	if err != nil {
		return "", fmt.Errorf("mds: signing BLOB: %w", err)
	}
	return signingInput + "." + b64.EncodeToString(sig), nil
}

// checkSigner makes sure signer can sign ES256 and is the key of chain[0],
// and that each certificate of chain is signed by the next.
func checkSigner(signer crypto.Signer, chain []*x509.Certificate) error {
	pub, ok := signer.Public().(*ecdsa.PublicKey)
	if !ok || pub.Curve != elliptic.P256() {
		return fmt.Errorf("signer has a %T key; ES256 needs ECDSA P-256", signer.Public())
	}
	if len(chain) == 0 {
		return nil
	}
	for i, c := range chain {
		if c == nil {
			return fmt.Errorf("chain[%d]: missing certificate", i)
		}
	}
	if !pub.Equal(chain[0].PublicKey) {
		return errors.New("chain[0]: the signing certificate is not for the signer's key")
	}
	for i := 0; i+1 < len(chain); i++ {
		if err := chain[i].CheckSignatureFrom(chain[i+1]); err != nil {
			return fmt.Errorf("chain[%d] is not signed by chain[%d]: %w", i, i+1, err)
		}
	}
	return nil
}

// signES256 signs input with ECDSA P-256 and SHA-256 and returns the JWS
// form of the signature, R and S as 32-byte big-endian integers
// (RFC 7518 §3.4), not DER.
func signES256(signer crypto.Signer, input []byte) ([]byte, error) {
	digest := sha256.Sum256(input)
	// A nil random source makes *ecdsa.PrivateKey follow RFC 6979; other
	// signers may not accept one.
	random := rand.Reader
	if _, ok := signer.(*ecdsa.PrivateKey); ok {
		random = nil
	}
	der, err := signer.Sign(random, digest[:], crypto.SHA256)
	if err != nil {
		return nil, err
	}
	var rs struct{ R, S *big.Int }
	rest, err := asn1.Unmarshal(der, &rs)
	if err != nil || len(rest) != 0 || rs.R == nil || rs.S == nil || rs.R.Sign() <= 0 || rs.S.Sign() <= 0 {
		return nil, errors.New("signer returned a malformed ECDSA signature")
	}
	const size = 32
	if rs.R.BitLen() > 8*size || rs.S.BitLen() > 8*size {
		return nil, errors.New("signer returned an ECDSA signature too large for P-256")
	}
	sig := make([]byte, 2*size)
	rs.R.FillBytes(sig[:size])
	rs.S.FillBytes(sig[size:])
	return sig, nil
}

// marshal encodes v as compact JSON without HTML escaping.
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}
