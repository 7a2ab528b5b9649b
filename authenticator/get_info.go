package authenticator

import (
	"fmt"
	"slices"

	"github.com/softkeydev/softkey/ctap2"
)

// uvModalityFingerprint is USER_VERIFY_FINGERPRINT_INTERNAL
// (FIDO Registry of Predefined Values §3.1).
const uvModalityFingerprint = 0x02

// getInfo answers authenticatorGetInfo (CTAP 2.1 §6.4) from the profile
// and the device's current state (PIN set, fingerprints enrolled, settings
// changed by authenticatorConfig).
func (a *Authenticator) getInfo() ([]byte, error) {
	p := a.profile
	dev, err := a.device()
	if err != nil {
		return nil, err
	}
	info := ctap2.GetInfoResponse{
		Versions:                 p.Versions,
		Extensions:               p.Extensions,
		AAGUID:                   p.AAGUID[:],
		Options:                  a.infoOptions(dev),
		MaxMsgSize:               p.MaxMsgSize,
		MaxCredentialCountInList: p.MaxCredentialCountInList,
		MaxCredentialIDLength:    p.MaxCredentialIDLength,
		Transports:               p.Transports,
		FirmwareVersion:          p.FirmwareVersion,
	}
	if p.ClientPIN || p.UV {
		info.PinUvAuthProtocols = p.PinUvAuthProtocols
		info.MinPINLength = uint64(a.minPINLength(dev))
		info.ForcePINChange = dev.record.ForcePINChange
	}
	if p.LargeBlobs {
		info.MaxSerializedLargeBlobArray = p.MaxLargeBlobArray
	}
	if p.HasExtension(ExtCredBlob) {
		info.MaxCredBlobLength = p.MaxCredBlobLength
	}
	if p.SetMinPINLength {
		info.MaxRPIDsForSetMinPINLength = p.MaxRPIDsForSetMinPINLength
	}
	if p.UV {
		info.PreferredPlatformUVAttempts = 1
		if a.fingerprintSensor() {
			info.UVModality = uvModalityFingerprint
		}
	}
	// attestationFormats is listed only when the profile names its
	// formats, as CTAP 2.1 keys do not report it.
	if len(p.AttestationFormats) > 0 {
		info.AttestationFormats = a.attestationFormats()
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

// infoOptions is getInfo's options map (CTAP 2.1 §6.4 "options"): an
// option is absent when the key lacks the feature, false when it has it
// but it is not set up, true when it is ready.
func (a *Authenticator) infoOptions(dev *deviceState) map[string]bool {
	p := a.profile
	opts := map[string]bool{"rk": p.ResidentKeys, "up": true, "plat": false}
	preview := slices.Contains(p.Versions, "FIDO_2_1_PRE")
	if p.ClientPIN {
		opts["clientPin"] = a.pinSet(dev)
	}
	if p.UV {
		opts["uv"] = a.uvConfigured(dev)
	}
	if p.PinUvAuthToken {
		opts["pinUvAuthToken"] = true
	}
	// A CTAP 2.1 key that also speaks FIDO_2_1_PRE lists the prototype
	// options next to the final ones; a pre-release key lists only them.
	if p.CredentialManagement {
		opts["credMgmt"] = true
	}
	if (p.CredentialManagement && preview) || p.CredentialManagementPreview {
		opts["credentialMgmtPreview"] = true
	}
	if p.BioEnroll {
		opts["bioEnroll"] = a.uvConfigured(dev)
	}
	if (p.BioEnroll && preview) || p.BioEnrollPreview {
		opts["userVerificationMgmtPreview"] = a.uvConfigured(dev)
	}
	if p.LargeBlobs {
		opts["largeBlobs"] = true
	}
	if p.AuthenticatorConfig {
		opts["authnrCfg"] = true
		opts["alwaysUv"] = a.alwaysUV(dev)
	} else if p.AlwaysUV {
		opts["alwaysUv"] = true
	}
	if p.SetMinPINLength {
		opts["setMinPINLength"] = true
	}
	if p.MakeCredUVNotRequired {
		opts["makeCredUvNotRqd"] = true
	}
	if p.NoMcGaPermissionsWithClientPIN {
		opts["noMcGaPermissionsWithClientPin"] = true
	}
	if p.EnterpriseAttestation != "" {
		opts["ep"] = a.enterpriseAttestationEnabled(dev)
	}
	return opts
}

// uvConfigured reports whether built-in user verification can be used
// now: always for plain built-in UV, once a fingerprint is enrolled for an
// emulated sensor.
func (a *Authenticator) uvConfigured(dev *deviceState) bool {
	return a.profile.UV && (!a.fingerprintSensor() || len(dev.record.Templates) > 0)
}

// fingerprintSensor reports whether built-in UV is an emulated
// fingerprint sensor, managed by authenticatorBioEnrollment or only by
// its prototype.
func (a *Authenticator) fingerprintSensor() bool {
	return a.profile.BioEnroll || a.profile.BioEnrollPreview
}

// alwaysUV reports whether every makeCredential and getAssertion needs
// user verification: the profile's setting unless toggleAlwaysUv changed it.
func (a *Authenticator) alwaysUV(dev *deviceState) bool {
	if dev.record.AlwaysUV != nil {
		return *dev.record.AlwaysUV
	}
	return a.profile.AlwaysUV
}

// minPINLength is the current minimum PIN length in code points.
func (a *Authenticator) minPINLength(dev *deviceState) int {
	if dev.record.MinPINLength > 0 {
		return dev.record.MinPINLength
	}
	return a.profile.MinPINLength
}

// enterpriseAttestationEnabled reports whether enterprise attestation may
// be given: on a key with authenticatorConfig only after
// enableEnterpriseAttestation (CTAP 2.1 §6.11.1), otherwise always.
func (a *Authenticator) enterpriseAttestationEnabled(dev *deviceState) bool {
	if a.profile.EnterpriseAttestation == "" {
		return false
	}
	return !a.profile.AuthenticatorConfig || dev.record.EnterpriseAttestation
}
