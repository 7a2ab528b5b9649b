package ctap2

import "fmt"

// PublicKeyCredentialType is the only credential type CTAP knows
// (WebAuthn L3 §5.8.2).
const PublicKeyCredentialType = "public-key"

// RPEntity is PublicKeyCredentialRpEntity (WebAuthn L3 §5.4.2).
type RPEntity struct {
	ID   string `cbor:"id"`
	Name string `cbor:"name,omitempty"`
}

// UserEntity is PublicKeyCredentialUserEntity (WebAuthn L3 §5.4.3).
type UserEntity struct {
	ID          []byte `cbor:"id"`
	Name        string `cbor:"name,omitempty"`
	DisplayName string `cbor:"displayName,omitempty"`
}

// CredentialParam is PublicKeyCredentialParameters (WebAuthn L3 §5.3).
type CredentialParam struct {
	Type string `cbor:"type"`
	Alg  Alg    `cbor:"alg"`
}

// CredentialDescriptor is PublicKeyCredentialDescriptor (WebAuthn L3 §5.8.3).
type CredentialDescriptor struct {
	Type       string   `cbor:"type"`
	ID         []byte   `cbor:"id"`
	Transports []string `cbor:"transports,omitempty"`
}

// MakeCredentialRequest is the authenticatorMakeCredential parameter map
// (CTAP 2.1 §6.1).
type MakeCredentialRequest struct {
	ClientDataHash               []byte                 `cbor:"1,keyasint"`
	RP                           *RPEntity              `cbor:"2,keyasint"`
	User                         *UserEntity            `cbor:"3,keyasint"`
	PubKeyCredParams             []CredentialParam      `cbor:"4,keyasint"`
	ExcludeList                  []CredentialDescriptor `cbor:"5,keyasint,omitempty"`
	Extensions                   map[string]RawMessage  `cbor:"6,keyasint,omitempty"`
	Options                      map[string]bool        `cbor:"7,keyasint,omitempty"`
	PinUvAuthParam               []byte                 `cbor:"8,keyasint,omitempty"`
	PinUvAuthProtocol            uint64                 `cbor:"9,keyasint,omitempty"`
	EnterpriseAttestation        uint64                 `cbor:"10,keyasint,omitempty"`
	AttestationFormatsPreference []string               `cbor:"11,keyasint,omitempty"`
}

// ParseMakeCredentialRequest decodes and checks the parameters of
// authenticatorMakeCredential. Errors wrap the CTAP status to answer.
func ParseMakeCredentialRequest(data []byte) (*MakeCredentialRequest, error) {
	var r MakeCredentialRequest
	if err := Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("parsing makeCredential: %w", err)
	}
	switch {
	case r.ClientDataHash == nil:
		return nil, fmt.Errorf("parsing makeCredential: clientDataHash: %w", ErrMissingParameter)
	case r.RP == nil:
		return nil, fmt.Errorf("parsing makeCredential: rp: %w", ErrMissingParameter)
	case r.User == nil:
		return nil, fmt.Errorf("parsing makeCredential: user: %w", ErrMissingParameter)
	case r.PubKeyCredParams == nil:
		return nil, fmt.Errorf("parsing makeCredential: pubKeyCredParams: %w", ErrMissingParameter)
	case r.User.ID == nil:
		return nil, fmt.Errorf("parsing makeCredential: user.id: %w", ErrMissingParameter)
	}
	for i, p := range r.PubKeyCredParams {
		if p.Type == "" {
			return nil, fmt.Errorf("parsing makeCredential: pubKeyCredParams[%d].type: %w", i, ErrMissingParameter)
		}
	}
	if err := checkDescriptors(r.ExcludeList); err != nil {
		return nil, fmt.Errorf("parsing makeCredential: excludeList: %w", err)
	}
	return &r, nil
}

// GetAssertionRequest is the authenticatorGetAssertion parameter map
// (CTAP 2.1 §6.2).
type GetAssertionRequest struct {
	RPID              string                 `cbor:"1,keyasint"`
	ClientDataHash    []byte                 `cbor:"2,keyasint"`
	AllowList         []CredentialDescriptor `cbor:"3,keyasint,omitempty"`
	Extensions        map[string]RawMessage  `cbor:"4,keyasint,omitempty"`
	Options           map[string]bool        `cbor:"5,keyasint,omitempty"`
	PinUvAuthParam    []byte                 `cbor:"6,keyasint,omitempty"`
	PinUvAuthProtocol uint64                 `cbor:"7,keyasint,omitempty"`
}

// ParseGetAssertionRequest decodes and checks the parameters of
// authenticatorGetAssertion. Errors wrap the CTAP status to answer.
func ParseGetAssertionRequest(data []byte) (*GetAssertionRequest, error) {
	// rpId is decoded through a pointer so that an empty string is told
	// apart from a missing one.
	var r struct {
		GetAssertionRequest
		RPID *string `cbor:"1,keyasint"`
	}
	if err := Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("parsing getAssertion: %w", err)
	}
	switch {
	case r.RPID == nil:
		return nil, fmt.Errorf("parsing getAssertion: rpId: %w", ErrMissingParameter)
	case r.ClientDataHash == nil:
		return nil, fmt.Errorf("parsing getAssertion: clientDataHash: %w", ErrMissingParameter)
	}
	if err := checkDescriptors(r.AllowList); err != nil {
		return nil, fmt.Errorf("parsing getAssertion: allowList: %w", err)
	}
	req := r.GetAssertionRequest
	req.RPID = *r.RPID
	return &req, nil
}

func checkDescriptors(list []CredentialDescriptor) error {
	for i, d := range list {
		if d.Type == "" || d.ID == nil {
			return fmt.Errorf("entry %d: %w", i, ErrMissingParameter)
		}
	}
	return nil
}

// MakeCredentialResponse is the authenticatorMakeCredential response map
// (CTAP 2.1 §6.1.2).
type MakeCredentialResponse struct {
	Format       string     `cbor:"1,keyasint"`
	AuthData     []byte     `cbor:"2,keyasint"`
	AttStmt      RawMessage `cbor:"3,keyasint"`
	EPAtt        bool       `cbor:"4,keyasint,omitempty"`
	LargeBlobKey []byte     `cbor:"5,keyasint,omitempty"`
}

// GetAssertionResponse is the authenticatorGetAssertion and
// authenticatorGetNextAssertion response map (CTAP 2.1 §6.2.2).
type GetAssertionResponse struct {
	Credential          CredentialDescriptor `cbor:"1,keyasint"`
	AuthData            []byte               `cbor:"2,keyasint"`
	Signature           []byte               `cbor:"3,keyasint"`
	User                *UserEntity          `cbor:"4,keyasint,omitempty"`
	NumberOfCredentials int                  `cbor:"5,keyasint,omitempty"`
	UserSelected        bool                 `cbor:"6,keyasint,omitempty"`
	LargeBlobKey        []byte               `cbor:"7,keyasint,omitempty"`
}

// GetInfoResponse is the authenticatorGetInfo response map (CTAP 2.1 §6.4,
// CTAP 2.2 for attestationFormats). Optional counts are pointers so that a
// real zero can be told from "not reported".
type GetInfoResponse struct {
	Versions                         []string          `cbor:"1,keyasint"`
	Extensions                       []string          `cbor:"2,keyasint,omitempty"`
	AAGUID                           []byte            `cbor:"3,keyasint"`
	Options                          map[string]bool   `cbor:"4,keyasint,omitempty"`
	MaxMsgSize                       uint64            `cbor:"5,keyasint,omitempty"`
	PinUvAuthProtocols               []uint64          `cbor:"6,keyasint,omitempty"`
	MaxCredentialCountInList         uint64            `cbor:"7,keyasint,omitempty"`
	MaxCredentialIDLength            uint64            `cbor:"8,keyasint,omitempty"`
	Transports                       []string          `cbor:"9,keyasint,omitempty"`
	Algorithms                       []CredentialParam `cbor:"10,keyasint,omitempty"`
	MaxSerializedLargeBlobArray      uint64            `cbor:"11,keyasint,omitempty"`
	ForcePINChange                   bool              `cbor:"12,keyasint,omitempty"`
	MinPINLength                     uint64            `cbor:"13,keyasint,omitempty"`
	FirmwareVersion                  uint64            `cbor:"14,keyasint,omitempty"`
	MaxCredBlobLength                uint64            `cbor:"15,keyasint,omitempty"`
	MaxRPIDsForSetMinPINLength       uint64            `cbor:"16,keyasint,omitempty"`
	PreferredPlatformUVAttempts      uint64            `cbor:"17,keyasint,omitempty"`
	UVModality                       uint64            `cbor:"18,keyasint,omitempty"`
	RemainingDiscoverableCredentials *uint64           `cbor:"20,keyasint,omitempty"`
	AttestationFormats               []string          `cbor:"22,keyasint,omitempty"`
}
