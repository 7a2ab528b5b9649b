// Package metadata describes an authenticator profile as FIDO metadata
// (FIDO Metadata Statement v3.0, MDS 3.0 entries), so that a relying party
// given softkey's BLOB (package [mds]) trusts the key, or refuses it for
// the status it is told.
//
// A statement is consistent with the key it describes: its
// authenticatorGetInfo is the getInfo of the profile's engine, run in
// memory; its attestation types are those of the profile's attestation
// modes; its attestationRootCertificates are the roots the key's
// attestation certificates chain to. What the engine cannot show, key and
// matcher protection and the attachment, follows the kind of model the
// profile looks like (a preset's [presets.Info.Kind], software for
// softkey's own).
//
// # U2F
//
// fido-u2f attestation comes with a zero AAGUID, as a U2F registration
// does, so a relying party finds its metadata by the attestation
// certificate's key identifier: a second entry, protocol family u2f,
// listed under attestationCertificateKeyIdentifiers. That needs a batch
// certificate that stays the same from one start to the next, a stored
// [attestation.Batch].
package metadata

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/softkeydev/softkey/attestation"
	"github.com/softkeydev/softkey/attestation/mds"
	"github.com/softkeydev/softkey/authenticator"
	"github.com/softkeydev/softkey/authenticator/keys"
	"github.com/softkeydev/softkey/authenticator/presets"
	"github.com/softkeydev/softkey/authenticator/store"
	"github.com/softkeydev/softkey/ctap2"
)

// Options says what the key's attestation certificates chain to, and
// what the metadata reports about it.
type Options struct {
	// CA issues the key's TPM AIK and enterprise attestation
	// certificates, and its batch certificates when Batch is nil, as
	// authenticator.Config.CA does. Required when the profile attests
	// with a certificate chain (packed, tpm, fido-u2f, enterprise).
	CA *attestation.CA
	// Batch is the batch certificate the key uses for packed and fido-u2f
	// attestation, as authenticator.Config.Batch; nil means one issued by
	// CA at each start. fido-u2f needs it: see the package documentation.
	Batch *attestation.Batch
	// Status is the model's status history, the current status last; nil
	// means NOT_FIDO_CERTIFIED as of Now.
	Status []mds.StatusReport
	// Now dates the default status report and, when no report has an
	// effective date, timeOfLastStatusChange; zero means time.Now.
	Now time.Time
}

// Entries returns the metadata entries of the key a profile makes: the
// FIDO2 entry for its AAGUID, and for a profile that attests with
// fido-u2f the U2F entry for its batch certificate's key identifier.
func Entries(p *authenticator.Profile, o Options) ([]mds.Entry, error) {
	if p == nil {
		return nil, errors.New("describing a profile as metadata: no profile")
	}
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("describing %s as metadata: %w", p.Name, err)
	}
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	info, err := GetInfo(p)
	if err != nil {
		return nil, fmt.Errorf("describing %s as metadata: %w", p.Name, err)
	}
	m := model(p)
	types := AttestationTypes(p)
	roots, err := trustAnchors(p, o, false)
	if err != nil {
		return nil, fmt.Errorf("describing %s as metadata: %w", p.Name, err)
	}
	algs, err := authenticationAlgorithms(p.Algorithms)
	if err != nil {
		return nil, fmt.Errorf("describing %s as metadata: %w", p.Name, err)
	}
	upv := mds.UpvFromVersions(info.Versions)
	if len(upv) == 0 {
		upv = []mds.Version{{Major: 1, Minor: 0}}
	}
	reports, changed := statusReports(o)
	multiDevice := mds.MultiDeviceUnsupported
	if p.BackupEligible {
		// Synced passkeys are backed up without the user's asking.
		multiDevice = mds.MultiDeviceImplicit
	}
	entries := []mds.Entry{{
		AAGUID: mds.AAGUID(p.AAGUID),
		MetadataStatement: mds.Statement{
			AAGUID:                       mds.AAGUID(p.AAGUID),
			Description:                  m.description,
			AuthenticatorVersion:         uint32(min(p.FirmwareVersion, math.MaxUint32)),
			ProtocolFamily:               mds.ProtocolFIDO2,
			Schema:                       mds.Schema,
			Upv:                          upv,
			AuthenticationAlgorithms:     algs,
			PublicKeyAlgAndEncodings:     []string{mds.PublicKeyCOSE},
			AttestationTypes:             types,
			UserVerificationDetails:      userVerificationDetails(info),
			KeyProtection:                m.keyProtection,
			MatcherProtection:            m.matcherProtection,
			AttachmentHint:               attachmentHints(p.Transports),
			AttestationRootCertificates:  roots,
			MultiDeviceCredentialSupport: multiDevice,
			AuthenticatorGetInfo:         info,
		},
		StatusReports:          reports,
		TimeOfLastStatusChange: changed,
	}}
	if !slices.Contains(p.AttestationModes(), authenticator.AttestationFIDOU2F) {
		return entries, nil
	}

	if o.Batch == nil {
		return nil, fmt.Errorf("describing %s as metadata: %w", p.Name, ErrU2FNeedsBatch)
	}
	leaf, err := x509.ParseCertificate(o.Batch.Chain[0])
	if err != nil {
		return nil, fmt.Errorf("describing %s as metadata: batch certificate: %w", p.Name, err)
	}
	keyID, err := mds.KeyIdentifier(leaf)
	if err != nil {
		return nil, fmt.Errorf("describing %s as metadata: %w", p.Name, err)
	}
	u2fRoots, err := trustAnchors(p, o, true)
	if err != nil {
		return nil, fmt.Errorf("describing %s as metadata: %w", p.Name, err)
	}
	u2fAlg, err := mds.AuthenticationAlgorithm(ctap2.AlgES256)
	if err != nil {
		return nil, err
	}
	entries = append(entries, mds.Entry{
		AttestationCertificateKeyIdentifiers: []string{keyID},
		MetadataStatement: mds.Statement{
			AttestationCertificateKeyIdentifiers: []string{keyID},
			Description:                          m.description + " (U2F)",
			AuthenticatorVersion:                 uint32(min(p.FirmwareVersion, math.MaxUint32)),
			ProtocolFamily:                       mds.ProtocolU2F,
			Schema:                               mds.Schema,
			// U2F 1.1 (FIDO Metadata Statement v3.0 §4, upv for u2f).
			Upv:                         []mds.Version{{Major: 1, Minor: 1}},
			AuthenticationAlgorithms:    []string{u2fAlg},
			PublicKeyAlgAndEncodings:    []string{publicKeyECCX962Raw},
			AttestationTypes:            []mds.AttestationType{mds.AttestationBasicFull},
			UserVerificationDetails:     [][]mds.VerificationMethod{{{UserVerificationMethod: mds.UVPresenceInternal}}},
			KeyProtection:               m.keyProtection,
			MatcherProtection:           m.matcherProtection,
			AttachmentHint:              attachmentHints(p.Transports),
			AttestationRootCertificates: u2fRoots,
		},
		StatusReports:          reports,
		TimeOfLastStatusChange: changed,
	})
	return entries, nil
}

// ErrU2FNeedsBatch is returned by [Entries] for a profile that attests
// with fido-u2f when [Options] give no batch certificate.
var ErrU2FNeedsBatch = errors.New("fido-u2f attestation is found by its certificate's key identifier, which needs a stored batch certificate (none was given)")

// publicKeyECCX962Raw is the publicKeyAlgAndEncodings value of U2F keys
// (FIDO Registry of Predefined Values, ALG_KEY_ECC_X962_RAW).
const publicKeyECCX962Raw = "ecc_x962_raw"

// GetInfo runs the profile's engine in memory and returns its getInfo in
// metadata form.
func GetInfo(p *authenticator.Profile) (*mds.GetInfo, error) {
	a, err := authenticator.New(authenticator.Config{
		Profile: p,
		Store:   &store.Memory{},
		Keys:    keys.NewSoftware(rand.Reader),
	})
	if err != nil {
		return nil, fmt.Errorf("starting the engine for getInfo: %w", err)
	}
	out := a.HandleCBOR(context.Background(), []byte{byte(ctap2.CmdGetInfo)})
	if len(out) == 0 || ctap2.Status(out[0]) != ctap2.StatusOK {
		return nil, fmt.Errorf("getInfo: the engine answered %x", out)
	}
	var resp ctap2.GetInfoResponse
	if err := ctap2.Unmarshal(out[1:], &resp); err != nil {
		return nil, fmt.Errorf("getInfo: %w", err)
	}
	return mds.GetInfoFromCTAP(&resp)
}

// AttestationType returns the metadata attestation type of an attestation
// mode: packed and fido-u2f are basic_full (a batch certificate), tpm is
// attca (an attestation identity key certified by a CA), self is
// basic_surrogate and none is none.
func AttestationType(mode string) (mds.AttestationType, error) {
	switch mode {
	case authenticator.AttestationPacked, authenticator.AttestationFIDOU2F:
		return mds.AttestationBasicFull, nil
	case authenticator.AttestationTPM:
		return mds.AttestationAttCA, nil
	case authenticator.AttestationSelf:
		return mds.AttestationBasicSurrogate, nil
	case authenticator.AttestationNone:
		return mds.AttestationNone, nil
	}
	return "", fmt.Errorf("attestation %q is not one of packed, self, tpm, fido-u2f, none", mode)
}

// AttestationTypes returns the attestation types of the profile's modes,
// in their order, with basic_full for enterprise attestation.
func AttestationTypes(p *authenticator.Profile) []mds.AttestationType {
	var out []mds.AttestationType
	add := func(t mds.AttestationType) {
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	for _, mode := range p.AttestationModes() {
		if t, err := AttestationType(mode); err == nil {
			add(t)
		}
	}
	if p.EnterpriseAttestation != "" {
		add(mds.AttestationBasicFull)
	}
	return out
}

// trustAnchors returns the DER certificates the key's attestation chains
// end at. A fido-u2f x5c holds the batch certificate alone, so for the U2F
// entry (u2f) the batch certificate's CA certificates are all anchors.
func trustAnchors(p *authenticator.Profile, o Options, u2f bool) ([][]byte, error) {
	modes := p.AttestationModes()
	batchModes := slices.Contains(modes, authenticator.AttestationPacked) || slices.Contains(modes, authenticator.AttestationFIDOU2F)
	caModes := slices.Contains(modes, authenticator.AttestationTPM) || p.EnterpriseAttestation != ""
	if (batchModes && o.Batch == nil) || caModes {
		if o.CA == nil || o.CA.Root == nil || o.CA.Intermediate == nil {
			return nil, errors.New("attestation with a certificate chain needs the CA that issues it")
		}
	}
	if o.Batch != nil {
		if len(o.Batch.Chain) < 2 {
			return nil, errors.New("batch certificate: the chain holds no CA certificate")
		}
		if err := o.Batch.CheckAAGUID(p.AAGUID); err != nil {
			return nil, fmt.Errorf("batch certificate: %w", err)
		}
	}
	var out [][]byte
	add := func(ders ...[]byte) {
		for _, der := range ders {
			if !slices.ContainsFunc(out, func(have []byte) bool { return string(have) == string(der) }) {
				out = append(out, der)
			}
		}
	}
	if u2f {
		add(o.Batch.Chain[1:]...)
		return out, nil
	}
	if batchModes {
		if o.Batch != nil {
			add(o.Batch.Chain[len(o.Batch.Chain)-1])
		} else {
			add(o.CA.Root.Raw)
		}
	}
	if caModes {
		add(o.CA.Root.Raw)
	}
	return out, nil
}

// authenticationAlgorithms names the profile's algorithms as the FIDO
// Registry does.
func authenticationAlgorithms(algs []ctap2.Alg) ([]string, error) {
	var out []string
	for _, alg := range algs {
		name, err := mds.AuthenticationAlgorithm(alg)
		if err != nil {
			return nil, err
		}
		out = append(out, name)
	}
	return out, nil
}

// statusReports returns the reports and the day of the last change.
func statusReports(o Options) ([]mds.StatusReport, time.Time) {
	if len(o.Status) == 0 {
		return []mds.StatusReport{{Status: mds.StatusNotFIDOCertified, EffectiveDate: o.Now}}, o.Now
	}
	changed := time.Time{}
	for _, r := range o.Status {
		if r.EffectiveDate.After(changed) {
			changed = r.EffectiveDate
		}
	}
	if changed.IsZero() {
		changed = o.Now
	}
	return slices.Clone(o.Status), changed
}

// userVerificationDetails lists how the key verifies users, from what its
// getInfo says: a touch always; built-in user verification (uv) and a PIN
// (clientPin) when it has them (FIDO Registry of Predefined Values, User
// Verification Methods).
func userVerificationDetails(info *mds.GetInfo) [][]mds.VerificationMethod {
	out := [][]mds.VerificationMethod{{{UserVerificationMethod: mds.UVPresenceInternal}}}
	if _, ok := info.Options["uv"]; ok {
		out = append(out, []mds.VerificationMethod{{UserVerificationMethod: mds.UVPasscodeInternal}})
	}
	if _, ok := info.Options["clientPin"]; ok {
		out = append(out, []mds.VerificationMethod{{UserVerificationMethod: mds.UVPasscodeExternal}})
	}
	return out
}

// attachmentHints maps getInfo transports to attachment hints.
func attachmentHints(transports []string) []string {
	var out []string
	add := func(hints ...string) {
		for _, h := range hints {
			if !slices.Contains(out, h) {
				out = append(out, h)
			}
		}
	}
	for _, t := range transports {
		switch t {
		case "usb":
			add(mds.AttachmentExternal, mds.AttachmentWired)
		case "nfc":
			add(mds.AttachmentExternal, mds.AttachmentNFC)
		case "ble":
			add(mds.AttachmentExternal, mds.AttachmentWireless, mds.AttachmentBluetooth)
		case "hybrid":
			add(mds.AttachmentExternal, mds.AttachmentWireless)
		case "internal":
			add(mds.AttachmentInternal)
		}
	}
	if len(out) == 0 {
		add(mds.AttachmentExternal)
	}
	return out
}

// modelInfo is what metadata says about a model that getInfo does not.
type modelInfo struct {
	description       string
	keyProtection     []string
	matcherProtection []string
}

// model describes the profile's kind: a preset's, or softkey's own, whose
// keys are kept in software.
func model(p *authenticator.Profile) modelInfo {
	info, err := presets.Lookup(p.Name)
	if err != nil {
		return modelInfo{
			description:       "softkey " + p.Name + " (software authenticator, test metadata)",
			keyProtection:     []string{mds.KeyProtectionSoftware},
			matcherProtection: []string{mds.MatcherProtectionSoftware},
		}
	}
	m := modelInfo{description: info.Display + " (softkey look-alike, test metadata)"}
	switch info.Kind {
	case presets.KindSecurityKey:
		m.keyProtection = []string{mds.KeyProtectionHardware, mds.KeyProtectionSecureElement}
		m.matcherProtection = []string{mds.MatcherProtectionOnChip}
	case presets.KindPlatform, presets.KindPhone:
		m.keyProtection = []string{mds.KeyProtectionHardware, mds.KeyProtectionTEE}
		m.matcherProtection = []string{mds.MatcherProtectionTEE}
	default: // synced passkey providers keep keys in software, synced
		m.keyProtection = []string{mds.KeyProtectionSoftware}
		m.matcherProtection = []string{mds.MatcherProtectionSoftware}
	}
	return m
}
