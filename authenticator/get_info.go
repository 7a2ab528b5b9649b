package authenticator

import (
	"fmt"

	"github.com/softkeydev/softkey/ctap2"
)

// getInfo answers authenticatorGetInfo (CTAP 2.1 §6.4) from the profile.
func (a *Authenticator) getInfo() ([]byte, error) {
	p := a.profile
	info := ctap2.GetInfoResponse{
		Versions:                 p.Versions,
		AAGUID:                   p.AAGUID[:],
		Options:                  map[string]bool{"rk": p.ResidentKeys, "up": true, "plat": false},
		MaxMsgSize:               p.MaxMsgSize,
		MaxCredentialCountInList: p.MaxCredentialCountInList,
		MaxCredentialIDLength:    p.MaxCredentialIDLength,
		Transports:               p.Transports,
		FirmwareVersion:          p.FirmwareVersion,
	}
	// attestationFormats is listed only when the profile names its
	// formats, as CTAP 2.1 keys do not report it.
	if len(p.AttestationFormats) > 0 {
		info.AttestationFormats = a.attestationFormats()
	}
	if p.EnterpriseAttestation != "" {
		info.Options["ep"] = true
	}
	for _, alg := range p.Algorithms {
		info.Algorithms = append(info.Algorithms, ctap2.CredentialParam{Type: ctap2.PublicKeyCredentialType, Alg: alg})
	}
	if p.ResidentKeys && p.MaxDiscoverableCredentials > 0 {
		n, err := a.store.CountCredentials()
		if err != nil {
			return nil, fmt.Errorf("counting credentials: %w", err)
		}
		remaining := uint64(max(p.MaxDiscoverableCredentials-n, 0))
		info.RemainingDiscoverableCredentials = &remaining
	}
	return ctap2.Marshal(info)
}
