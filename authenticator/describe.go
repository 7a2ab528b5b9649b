package authenticator

import (
	"errors"
	"fmt"

	"github.com/softkeydev/softkey/authenticator/store"
	"github.com/softkeydev/softkey/ctap2"
)

// CredentialInfo describes one stored discoverable credential for people,
// as `softkey creds list` prints it: the record and what its credential ID
// and record say of its extensions.
type CredentialInfo struct {
	Credential *store.Credential
	// CredProtect is the credential's credProtect level (CTAP 2.1 §12.1):
	// 1 userVerificationOptional, 2 userVerificationOptionalWithCredentialIDList,
	// 3 userVerificationRequired.
	CredProtect uint8
	// HMACSecret reports a credential made with the hmac-secret extension.
	HMACSecret bool
	// CredBlob and LargeBlobKey report whether the credential holds a
	// credBlob (§12.2) and a largeBlobKey (§12.3).
	CredBlob     bool
	LargeBlobKey bool
}

// DescribeCredentials describes creds, discoverable credentials read from
// s, without changing anything: neither the store nor the credentials.
// Each credential ID is opened with the device's credential key, which s
// holds; an ID that does not open under it is an error, since the store
// made it.
func DescribeCredentials(s Store, creds []*store.Credential) ([]CredentialInfo, error) {
	if len(creds) == 0 {
		return nil, nil
	}
	d, err := s.Device()
	if errors.Is(err, store.ErrNotFound) {
		return nil, errors.New("describing credentials: the store holds credentials but no device secrets")
	}
	if err != nil {
		return nil, fmt.Errorf("describing credentials: %w", err)
	}
	aead, err := newCredentialAEAD(d.CredentialKey)
	if err != nil {
		return nil, fmt.Errorf("describing credentials: %w", err)
	}
	out := make([]CredentialInfo, 0, len(creds))
	for _, c := range creds {
		src, err := openCredentialID(aead, ctap2.RPIDHash(c.RPID), c.ID)
		if err != nil {
			return nil, fmt.Errorf("describing credential %x of %q: %w", c.ID, c.RPID, err)
		}
		out = append(out, CredentialInfo{
			Credential:   c,
			CredProtect:  src.protectionLevel(),
			HMACSecret:   src.hmacSecret,
			CredBlob:     len(c.CredBlob) > 0,
			LargeBlobKey: len(c.LargeBlobKey) > 0,
		})
	}
	return out, nil
}

// CredProtectName is the name WebAuthn gives a credProtect level
// (WebAuthn L3 §10.1.1 credentialProtectionPolicy), or the number for a
// level CTAP 2.1 does not define.
func CredProtectName(level uint8) string {
	switch level {
	case 0, 1:
		return "userVerificationOptional"
	case 2:
		return "userVerificationOptionalWithCredentialIDList"
	case 3:
		return "userVerificationRequired"
	}
	return fmt.Sprintf("level %d", level)
}
