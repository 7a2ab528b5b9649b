package mds_test

import (
	"crypto/ecdsa"
	"crypto/x509"
	"fmt"
	"time"

	"github.com/softkeydev/softkey/attestation/mds"
	"github.com/softkeydev/softkey/ctap2"
)

// ExampleEncodeBLOB builds the statement of a USB security key from its
// getInfo and signs a BLOB that reports the model revoked. signer and
// chain are the MDS signing key and its certificate chain; attRoot is the
// root of the key's attestation certificates.
func ExampleEncodeBLOB() {
	var (
		signer  *ecdsa.PrivateKey
		chain   []*x509.Certificate
		attRoot *x509.Certificate
		info    *ctap2.GetInfoResponse // the key's getInfo
	)
	getInfo, err := mds.GetInfoFromCTAP(info)
	if err != nil {
		fmt.Println(err)
		return
	}
	var algs []string
	for _, p := range info.Algorithms {
		name, err := mds.AuthenticationAlgorithm(p.Alg)
		if err != nil {
			fmt.Println(err)
			return
		}
		algs = append(algs, name)
	}
	day := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	entry := mds.Entry{
		AAGUID: getInfo.AAGUID,
		MetadataStatement: mds.Statement{
			Description:                 "Example Key",
			AuthenticatorVersion:        1,
			ProtocolFamily:              mds.ProtocolFIDO2,
			Schema:                      mds.Schema,
			Upv:                         mds.UpvFromVersions(info.Versions),
			AuthenticationAlgorithms:    algs,
			PublicKeyAlgAndEncodings:    []string{mds.PublicKeyCOSE},
			AttestationTypes:            []mds.AttestationType{mds.AttestationBasicFull},
			UserVerificationDetails:     [][]mds.VerificationMethod{{{UserVerificationMethod: mds.UVPresenceInternal}}},
			KeyProtection:               []string{mds.KeyProtectionHardware},
			MatcherProtection:           []string{mds.MatcherProtectionOnChip},
			AttachmentHint:              []string{mds.AttachmentExternal, mds.AttachmentWired},
			AttestationRootCertificates: [][]byte{attRoot.Raw},
			AuthenticatorGetInfo:        getInfo,
		},
		StatusReports: []mds.StatusReport{
			{Status: mds.StatusFIDOCertifiedL1, EffectiveDate: day.AddDate(-1, 0, 0)},
			{Status: mds.StatusRevoked, EffectiveDate: day},
		},
		TimeOfLastStatusChange: day,
	}
	blob, err := mds.EncodeBLOB([]mds.Entry{entry}, 1, day.AddDate(0, 1, 0), signer, chain)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(blob)
}
