package webauthntest

import (
	"crypto/x509"
	"errors"

	"github.com/go-webauthn/webauthn/metadata"
	"github.com/go-webauthn/webauthn/metadata/providers/memory"
	"github.com/go-webauthn/webauthn/protocol"
	"github.com/google/uuid"
)

// Describe renders go-webauthn's error with its details and developer
// information, verbatim, for failure messages.
func Describe(err error) string {
	if err == nil {
		return "no error"
	}
	var perr *protocol.Error
	if errors.As(err, &perr) {
		return perr.Error() + " [type " + perr.Type + "; details: " + perr.Details + "; info: " + perr.DevInfo + "]"
	}
	return err.Error()
}

// Metadata is a go-webauthn metadata provider with one entry: the model
// aaguid, not FIDO certified, with attestation type typ and trust anchors
// roots. The memory provider's defaults stay on: entry required, trust
// anchor, status and attestation types checked.
func Metadata(aaguid [16]byte, description string, typ metadata.AuthenticatorAttestationType, roots ...*x509.Certificate) (metadata.Provider, error) {
	id := uuid.UUID(aaguid)
	return memory.New(memory.WithMetadata(map[uuid.UUID]*metadata.Entry{
		id: {
			AaGUID: id,
			MetadataStatement: metadata.Statement{
				AaGUID:                      id,
				Description:                 description,
				AttestationTypes:            metadata.AuthenticatorAttestationTypes{typ},
				AttestationRootCertificates: roots,
			},
			StatusReports: []metadata.StatusReport{{Status: metadata.NotFidoCertified}},
		},
	}))
}
