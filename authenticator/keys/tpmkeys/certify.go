package tpmkeys

import (
	"crypto"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"

	"github.com/google/go-tpm/tpm2"

	"github.com/softkeydev/softkey/attestation"
	"github.com/softkeydev/softkey/ctap2"
)

// aikTemplate is the attestation identity key: a restricted ECDSA P-256
// signing key, which signs only what the TPM itself produced (TPM 2.0
// Part 1 §25.2.2), made as a primary key of the endorsement hierarchy. Its
// unique field is empty, so the same TPM gives the same AIK at every start
// and its certificate stays valid.
func aikTemplate() tpm2.TPMTPublic {
	t := ecTemplate()
	t.ObjectAttributes.Restricted = true
	return t
}

// withAIK makes the AIK, runs f with it and flushes it. b.mu must be held.
func (b *Backend) withAIK(f func(aik tpm2.NamedHandle, pub *tpm2.TPMTPublic) error) error {
	rsp, err := tpm2.CreatePrimary{
		PrimaryHandle: tpm2.AuthHandle{Handle: tpm2.TPMRHEndorsement, Auth: tpm2.PasswordAuth(nil)},
		InPublic:      tpm2.New2B(aikTemplate()),
	}.Execute(b.tpm)
	if err != nil {
		return fmt.Errorf("creating the attestation key: %w", classify(err))
	}
	aik := tpm2.NamedHandle{Handle: rsp.ObjectHandle, Name: rsp.Name}
	pub, err := rsp.OutPublic.Contents()
	if err == nil {
		err = f(aik, pub)
	}
	if _, ferr := (tpm2.FlushContext{FlushHandle: aik.Handle}).Execute(b.tpm); ferr != nil && err == nil {
		err = fmt.Errorf("flushing the attestation key: %w", ferr)
	}
	return err
}

// AIK returns the public half of the TPM's attestation identity key, for
// the CA to certify (WebAuthn L3 §8.3.1).
func (b *Backend) AIK() (crypto.PublicKey, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	var key crypto.PublicKey
	err := b.withAIK(func(_ tpm2.NamedHandle, pub *tpm2.TPMTPublic) error {
		var err error
		key, err = publicKey(ctap2.AlgES256, &blob{public: tpm2.New2B(*pub)})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("reading the attestation key: %w", err)
	}
	return key, nil
}

// Certification is what TPM2_Certify says about a credential key, in the
// encodings of a "tpm" attestation statement (WebAuthn L3 §8.3).
type Certification = attestation.Certification

var errForeignKey = errors.New("key was not made by this TPM backend")

// Certify has the AIK certify a credential key made by this backend, with
// qualifying data SHA-256(authData ‖ clientDataHash) (WebAuthn L3 §8.3.2:
// extraData is the hash of attToBeSigned under the statement's alg).
func (b *Backend) Certify(key crypto.Signer, authData, clientDataHash []byte) (*Certification, error) {
	cred, ok := key.(*signer)
	if !ok || cred.backend != b {
		return nil, fmt.Errorf("certifying a credential key: %w", errForeignKey)
	}
	h := sha256.New()
	h.Write(authData)
	h.Write(clientDataHash)
	qualifying := h.Sum(nil)

	b.mu.Lock()
	defer b.mu.Unlock()
	var rsp *tpm2.CertifyResponse
	err := b.withAIK(func(aik tpm2.NamedHandle, _ *tpm2.TPMTPublic) error {
		return b.withLoaded(cred.blob, func(obj tpm2.NamedHandle) (err error) {
			rsp, err = tpm2.Certify{
				ObjectHandle:   tpm2.AuthHandle{Handle: obj.Handle, Name: obj.Name, Auth: tpm2.PasswordAuth(nil)},
				SignHandle:     tpm2.AuthHandle{Handle: aik.Handle, Name: aik.Name, Auth: tpm2.PasswordAuth(nil)},
				QualifyingData: tpm2.TPM2BData{Buffer: qualifying},
				InScheme:       tpm2.TPMTSigScheme{Scheme: tpm2.TPMAlgNull}, // the AIK's own scheme
			}.Execute(b.tpm)
			return classify(err)
		})
	})
	if err != nil {
		return nil, fmt.Errorf("certifying a credential key: %w", err)
	}
	sig, err := encodeSignature(&rsp.Signature)
	if err != nil {
		return nil, fmt.Errorf("certifying a credential key: %w", err)
	}
	return &Certification{
		Alg:       ctap2.AlgES256,
		PubArea:   cred.blob.public.Bytes(),
		CertInfo:  rsp.CertifyInfo.Bytes(),
		Signature: sig,
	}, nil
}

// Info is what the TPM says about itself, for the AIK certificate's
// subject alternative name (TCG EK Credential Profile §3.2.9).
type Info struct {
	Manufacturer    uint32 // TPM_PT_MANUFACTURER, e.g. "MSFT" as 0x4D534654
	Model           string // TPM_PT_VENDOR_STRING_1..4, trimmed
	FirmwareVersion uint64 // TPM_PT_FIRMWARE_VERSION_1 ‖ _2
}

// Vendor returns the manufacturer as its four ASCII letters ("MSFT",
// "IBM", "INTC"), trimmed.
func (i Info) Vendor() string {
	var id [4]byte
	binary.BigEndian.PutUint32(id[:], i.Manufacturer)
	return strings.TrimRight(string(id[:]), "\x00 ")
}

// Info reads the TPM's manufacturer, vendor string and firmware version
// (TPM 2.0 Part 2 §6.13).
func (b *Backend) Info() (Info, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	rsp, err := tpm2.GetCapability{
		Capability:    tpm2.TPMCapTPMProperties,
		Property:      uint32(tpm2.TPMPTManufacturer),
		PropertyCount: uint32(tpm2.TPMPTFirmwareVersion2-tpm2.TPMPTManufacturer) + 1,
	}.Execute(b.tpm)
	if err != nil {
		return Info{}, fmt.Errorf("reading TPM properties: %w", classify(err))
	}
	props, err := rsp.CapabilityData.Data.TPMProperties()
	if err != nil {
		return Info{}, fmt.Errorf("reading TPM properties: %w", err)
	}
	var info Info
	var vendor [4][4]byte
	var firmware [2]uint32
	found := 0
	for _, p := range props.TPMProperty {
		switch {
		case p.Property == tpm2.TPMPTManufacturer:
			info.Manufacturer = p.Value
			found++
		case p.Property >= tpm2.TPMPTVendorString1 && p.Property < tpm2.TPMPTVendorString1+4:
			binary.BigEndian.PutUint32(vendor[p.Property-tpm2.TPMPTVendorString1][:], p.Value)
		case p.Property == tpm2.TPMPTFirmwareVersion1:
			firmware[0] = p.Value
		case p.Property == tpm2.TPMPTFirmwareVersion2:
			firmware[1] = p.Value
		}
	}
	if found == 0 {
		return Info{}, errors.New("reading TPM properties: TPM did not report its manufacturer")
	}
	var model strings.Builder
	for _, v := range vendor {
		model.Write(v[:])
	}
	info.Model = strings.TrimRight(strings.ReplaceAll(model.String(), "\x00", ""), " ")
	info.FirmwareVersion = uint64(firmware[0])<<32 | uint64(firmware[1])
	return info, nil
}

// TPMInfo is Info in the form the attestation package writes into an AIK
// certificate.
func (b *Backend) TPMInfo() (attestation.TPMInfo, error) {
	info, err := b.Info()
	if err != nil {
		return attestation.TPMInfo{}, err
	}
	return attestation.TPMInfo{
		Manufacturer:    info.Manufacturer,
		Model:           strings.ToValidUTF8(info.Model, "?"),
		FirmwareVersion: info.FirmwareVersion,
	}, nil
}
