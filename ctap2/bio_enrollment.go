package ctap2

import (
	"context"
	"fmt"
)

// authenticatorBioEnrollment subcommands (CTAP 2.1 §6.7).
const (
	BioEnrollBegin              = 0x01
	BioEnrollCaptureNextSample  = 0x02
	BioCancelCurrentEnrollment  = 0x03
	BioEnumerateEnrollments     = 0x04
	BioSetFriendlyName          = 0x05
	BioRemoveEnrollment         = 0x06
	BioGetFingerprintSensorInfo = 0x07
)

// BioModalityFingerprint is the only modality CTAP 2.1 defines (§6.7).
const BioModalityFingerprint = 0x01

// Fingerprint sensor kinds (CTAP 2.1 §6.7, fingerprintKind).
const (
	FingerprintKindTouch = 1
	FingerprintKindSwipe = 2
)

// Enrollment sample feedback, lastEnrollSampleStatus (CTAP 2.1 §6.7.4).
const (
	EnrollFeedbackGood           = 0x00 // CTAP2_ENROLL_FEEDBACK_FP_GOOD
	EnrollFeedbackTooHigh        = 0x01
	EnrollFeedbackTooLow         = 0x02
	EnrollFeedbackTooLeft        = 0x03
	EnrollFeedbackTooRight       = 0x04
	EnrollFeedbackTooFast        = 0x05
	EnrollFeedbackTooSlow        = 0x06
	EnrollFeedbackPoorQuality    = 0x07 // CTAP2_ENROLL_FEEDBACK_FP_POOR_QUALITY
	EnrollFeedbackTooSkewed      = 0x08
	EnrollFeedbackTooShort       = 0x09
	EnrollFeedbackMergeFailure   = 0x0A
	EnrollFeedbackExists         = 0x0B
	EnrollFeedbackNoUserActivity = 0x0D
	EnrollFeedbackNoUPTransition = 0x0E
)

// BioEnrollmentRequest is the authenticatorBioEnrollment parameter map
// (CTAP 2.1 §6.7). SubCommandParams stays encoded: pinUvAuthParam is
// computed over it as sent.
type BioEnrollmentRequest struct {
	Modality          uint64     `cbor:"1,keyasint,omitempty"`
	SubCommand        uint64     `cbor:"2,keyasint,omitempty"`
	SubCommandParams  RawMessage `cbor:"3,keyasint,omitempty"`
	PinUvAuthProtocol uint64     `cbor:"4,keyasint,omitempty"`
	PinUvAuthParam    []byte     `cbor:"5,keyasint,omitempty"`
	GetModality       bool       `cbor:"6,keyasint,omitempty"`
}

// BioEnrollmentParams are the subCommandParams of authenticatorBioEnrollment
// (CTAP 2.1 §6.7).
type BioEnrollmentParams struct {
	TemplateID           []byte  `cbor:"1,keyasint,omitempty"`
	TemplateFriendlyName *string `cbor:"2,keyasint,omitempty"`
	TimeoutMilliseconds  uint64  `cbor:"3,keyasint,omitempty"`
}

// TemplateInfo describes one enrolled fingerprint (CTAP 2.1 §6.7.5).
type TemplateInfo struct {
	TemplateID           []byte `cbor:"1,keyasint"`
	TemplateFriendlyName string `cbor:"2,keyasint,omitempty"`
}

// BioEnrollmentResponse is the authenticatorBioEnrollment response map
// (CTAP 2.1 §6.7). Pointers tell an absent member from a zero.
type BioEnrollmentResponse struct {
	Modality                           uint64         `cbor:"1,keyasint,omitempty"`
	FingerprintKind                    uint64         `cbor:"2,keyasint,omitempty"`
	MaxCaptureSamplesRequiredForEnroll uint64         `cbor:"3,keyasint,omitempty"`
	TemplateID                         []byte         `cbor:"4,keyasint,omitempty"`
	LastEnrollSampleStatus             *uint64        `cbor:"5,keyasint,omitempty"`
	RemainingSamples                   *uint64        `cbor:"6,keyasint,omitempty"`
	TemplateInfos                      []TemplateInfo `cbor:"7,keyasint,omitempty"`
	MaxTemplateFriendlyName            uint64         `cbor:"8,keyasint,omitempty"`
}

// ParseBioEnrollmentRequest decodes the parameters of
// authenticatorBioEnrollment. Every member is optional on the wire; the
// subcommands decide what they need. Errors wrap the CTAP status to answer.
func ParseBioEnrollmentRequest(data []byte) (*BioEnrollmentRequest, error) {
	var r BioEnrollmentRequest
	if err := Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("parsing bioEnrollment: %w", err)
	}
	if err := checkMap(r.SubCommandParams); err != nil {
		return nil, fmt.Errorf("parsing bioEnrollment: subCommandParams: %w", err)
	}
	return &r, nil
}

// ParseBioEnrollmentParams decodes subCommandParams; absent parameters
// decode as an empty map. Errors wrap the CTAP status to answer.
func ParseBioEnrollmentParams(data RawMessage) (*BioEnrollmentParams, error) {
	var p BioEnrollmentParams
	if len(data) == 0 {
		return &p, nil
	}
	if err := Unmarshal(data, &p); err != nil {
		return nil, fmt.Errorf("parsing bioEnrollment parameters: %w", err)
	}
	return &p, nil
}

// BioEnrollmentAuthMessage is what a bioEnrollment request's
// pinUvAuthParam authenticates: uint8(modality) || uint8(subCommand) ||
// subCommandParams (CTAP 2.1 §6.7.4).
func BioEnrollmentAuthMessage(modality, subCommand uint8, subCommandParams []byte) []byte {
	return append([]byte{modality, subCommand}, subCommandParams...)
}

// BioEnrollment sends an authenticatorBioEnrollment request with command
// cmd, CmdBioEnrollment or its prototype CmdBioEnrollmentPre
// (CTAP 2.1 §6.7). The caller builds pinUvAuthParam over
// BioEnrollmentAuthMessage. A subcommand without a response body returns
// an empty response.
func (c *Client) BioEnrollment(ctx context.Context, cmd Command, req *BioEnrollmentRequest) (*BioEnrollmentResponse, error) {
	if req == nil {
		return nil, fmt.Errorf("%s: no request", cmd)
	}
	if cmd != CmdBioEnrollment && cmd != CmdBioEnrollmentPre {
		return nil, fmt.Errorf("%s is not a bioEnrollment command", cmd)
	}
	body, err := c.call(ctx, cmd, req)
	if err != nil {
		return nil, err
	}
	var resp BioEnrollmentResponse
	if len(body) == 0 {
		return &resp, nil
	}
	if err := Unmarshal(body, &resp); err != nil {
		return nil, fmt.Errorf("%s: decoding response: %w", cmd, err)
	}
	return &resp, nil
}
