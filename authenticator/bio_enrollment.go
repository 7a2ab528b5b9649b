package authenticator

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/softkeydev/softkey/authenticator/store"
	"github.com/softkeydev/softkey/ctap2"
)

// templateIDLength is the length of the template IDs the emulated sensor
// makes; CTAP 2.1 §6.7 leaves their form to the authenticator.
const templateIDLength = 8

// enrollment is a fingerprint enrollment in progress (CTAP 2.1 §6.7.4):
// the template it will make and the good samples it still needs. The
// template is stored only once no sample remains, and only on the device
// it began on: an authenticatorReset in between ends it.
type enrollment struct {
	templateID []byte
	remaining  int
	dev        *deviceState
}

// bioEnrollment answers authenticatorBioEnrollment and its prototype
// (CTAP 2.1 §6.7) for the emulated fingerprint sensor. A profile with
// bioEnroll serves both; one with only userVerificationMgmtPreview serves
// only the prototype.
func (a *Authenticator) bioEnrollment(ctx context.Context, cmd ctap2.Command, params []byte) ([]byte, error) {
	offered := a.profile.BioEnroll || (cmd == ctap2.CmdBioEnrollmentPre && a.profile.BioEnrollPreview)
	if !offered {
		return nil, fmt.Errorf("%v: not offered: %w", cmd, ctap2.ErrInvalidCommand)
	}
	resp, err := a.bioEnrollmentSubCommand(ctx, cmd, params)
	if err != nil {
		return nil, fmt.Errorf("%v: %w", cmd, err)
	}
	if resp == nil {
		return nil, nil
	}
	return ctap2.Marshal(resp)
}

// bioEnrollmentSubCommand decodes a request and runs its subcommand; a
// nil response means the answer has no body.
func (a *Authenticator) bioEnrollmentSubCommand(ctx context.Context, cmd ctap2.Command, params []byte) (*ctap2.BioEnrollmentResponse, error) {
	req, err := ctap2.ParseBioEnrollmentRequest(params)
	if err != nil {
		return nil, err
	}
	// §6.7.2: getModality asks only for the modality.
	if req.GetModality {
		return &ctap2.BioEnrollmentResponse{Modality: ctap2.BioModalityFingerprint}, nil
	}
	switch {
	case req.Modality == 0:
		return nil, fmt.Errorf("modality: %w", ctap2.ErrMissingParameter)
	case req.Modality != ctap2.BioModalityFingerprint:
		return nil, fmt.Errorf("modality %d: %w", req.Modality, ctap2.ErrInvalidParameter)
	case req.SubCommand == 0:
		return nil, fmt.Errorf("subCommand: %w", ctap2.ErrMissingParameter)
	}
	sub, err := ctap2.ParseBioEnrollmentParams(req.SubCommandParams)
	if err != nil {
		return nil, err
	}
	switch req.SubCommand {
	case ctap2.BioGetFingerprintSensorInfo: // §6.7.3, no authentication
		return &ctap2.BioEnrollmentResponse{
			Modality:                           ctap2.BioModalityFingerprint,
			FingerprintKind:                    ctap2.FingerprintKindTouch,
			MaxCaptureSamplesRequiredForEnroll: uint64(a.profile.BioSamples),
			MaxTemplateFriendlyName:            uint64(a.profile.MaxTemplateFriendlyName),
		}, nil
	case ctap2.BioCancelCurrentEnrollment: // §6.7.6, no authentication
		a.enrollment = nil
		return nil, nil
	case ctap2.BioEnrollBegin, ctap2.BioEnrollCaptureNextSample, ctap2.BioEnumerateEnrollments,
		ctap2.BioSetFriendlyName, ctap2.BioRemoveEnrollment:
		// Authenticated below.
	default:
		return nil, fmt.Errorf("subCommand %#x: %w", req.SubCommand, ctap2.ErrInvalidSubcommand)
	}
	if err := a.checkBioAuth(cmd, req); err != nil {
		return nil, err
	}
	dev, err := a.device()
	if err != nil {
		return nil, err
	}
	switch req.SubCommand {
	case ctap2.BioEnrollBegin:
		return a.enrollBegin(ctx, dev, sub)
	case ctap2.BioEnrollCaptureNextSample:
		return a.enrollCaptureNextSample(ctx, dev, sub)
	case ctap2.BioEnumerateEnrollments:
		return enumerateEnrollments(dev)
	case ctap2.BioSetFriendlyName:
		return nil, a.setFriendlyName(dev, sub)
	default: // ctap2.BioRemoveEnrollment
		return nil, a.removeEnrollment(dev, sub)
	}
}

// checkBioAuth checks pinUvAuthParam over modality || subCommand ||
// subCommandParams and the token's be permission (CTAP 2.1 §6.7.4 steps
// 1-3, and likewise for the other subcommands that change or reveal
// templates), or for the prototype cmd that the token came from
// getPinToken.
func (a *Authenticator) checkBioAuth(cmd ctap2.Command, req *ctap2.BioEnrollmentRequest) error {
	if req.PinUvAuthParam == nil {
		return fmt.Errorf("pinUvAuthParam: %w", ctap2.ErrPUATRequired)
	}
	if req.PinUvAuthProtocol == 0 {
		return fmt.Errorf("pinUvAuthProtocol: %w", ctap2.ErrMissingParameter)
	}
	msg := ctap2.BioEnrollmentAuthMessage(uint8(req.Modality), uint8(req.SubCommand), req.SubCommandParams)
	if err := a.verifyPinUvAuthParam(req.PinUvAuthProtocol, req.PinUvAuthParam, msg); err != nil {
		return err
	}
	return a.requirePermissionFor(cmd, PermBioEnrollment)
}

// enrollBegin starts a new enrollment, cancelling any unfinished one, and
// captures its first sample (CTAP 2.1 §6.7.4).
func (a *Authenticator) enrollBegin(ctx context.Context, dev *deviceState, sub *ctap2.BioEnrollmentParams) (*ctap2.BioEnrollmentResponse, error) {
	if len(dev.record.Templates) >= a.profile.MaxTemplates {
		return nil, fmt.Errorf("enrollBegin: %d templates: %w", len(dev.record.Templates), ctap2.ErrFPDatabaseFull)
	}
	a.enrollment = nil
	id, err := a.newTemplateID(dev)
	if err != nil {
		return nil, fmt.Errorf("enrollBegin: %w", err)
	}
	e := &enrollment{templateID: id, remaining: a.profile.BioSamples, dev: dev}
	resp, err := a.captureSample(ctx, e, sub.TimeoutMilliseconds)
	if err != nil {
		return nil, fmt.Errorf("enrollBegin: %w", err)
	}
	resp.TemplateID = id
	return resp, nil
}

// enrollCaptureNextSample captures one more sample of the enrollment in
// progress (CTAP 2.1 §6.7.4).
func (a *Authenticator) enrollCaptureNextSample(ctx context.Context, dev *deviceState, sub *ctap2.BioEnrollmentParams) (*ctap2.BioEnrollmentResponse, error) {
	if sub.TemplateID == nil {
		return nil, fmt.Errorf("enrollCaptureNextSample: templateId: %w", ctap2.ErrMissingParameter)
	}
	e := a.enrollment
	if e == nil || e.dev != dev || !bytes.Equal(e.templateID, sub.TemplateID) {
		return nil, fmt.Errorf("enrollCaptureNextSample: no enrollment in progress for this templateId: %w", ctap2.ErrInvalidParameter)
	}
	resp, err := a.captureSample(ctx, e, sub.TimeoutMilliseconds)
	if err != nil {
		return nil, fmt.Errorf("enrollCaptureNextSample: %w", err)
	}
	return resp, nil
}

// captureSample asks the sensor (the Verifier) for one sample of e and
// reports how it went. A good sample counts; a poor one, or none before
// the timeout, does not. When no sample remains the template is stored
// and the enrollment ends. A cancelled request cancels the enrollment.
func (a *Authenticator) captureSample(ctx context.Context, e *enrollment, timeoutMillis uint64) (*ctap2.BioEnrollmentResponse, error) {
	a.enrollment = nil
	sampleCtx := ctx
	if timeoutMillis > 0 {
		var cancel context.CancelFunc
		sampleCtx, cancel = context.WithTimeout(ctx, time.Duration(min(timeoutMillis, uint64(time.Hour/time.Millisecond)))*time.Millisecond)
		defer cancel()
	}
	ctap2.ReportKeepalive(ctx, ctap2.KeepaliveUPNeeded)
	err := a.verifier.VerifyUser(sampleCtx, VerifyRequest{Operation: "enroll"})
	ctap2.ReportKeepalive(ctx, ctap2.KeepaliveProcessing)
	var feedback uint64
	switch {
	case ctx.Err() != nil:
		return nil, fmt.Errorf("capturing a sample: %w", ctap2.ErrKeepaliveCancel)
	case err == nil:
		feedback = ctap2.EnrollFeedbackGood
		e.remaining--
	case errors.Is(err, ErrUVNoMatch):
		feedback = ctap2.EnrollFeedbackPoorQuality
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, ErrPresenceTimeout) || sampleCtx.Err() != nil:
		// No finger came within timeoutMilliseconds.
		feedback = ctap2.EnrollFeedbackNoUserActivity
	default:
		return nil, fmt.Errorf("capturing a sample: %w", err)
	}
	if e.remaining == 0 {
		err := a.updateDevice(func(d *store.Device) error {
			if len(d.Templates) >= a.profile.MaxTemplates {
				return fmt.Errorf("storing template: %w", ctap2.ErrFPDatabaseFull)
			}
			d.Templates = append(d.Templates, store.Template{ID: slices.Clone(e.templateID)})
			return nil
		})
		if err != nil {
			return nil, err
		}
	} else {
		a.enrollment = e
	}
	remaining := uint64(e.remaining)
	return &ctap2.BioEnrollmentResponse{LastEnrollSampleStatus: &feedback, RemainingSamples: &remaining}, nil
}

// newTemplateID draws a template ID that no enrolled template has.
func (a *Authenticator) newTemplateID(dev *deviceState) ([]byte, error) {
	for {
		id := make([]byte, templateIDLength)
		if _, err := io.ReadFull(a.rand, id); err != nil {
			return nil, fmt.Errorf("making a template ID: %w", err)
		}
		if templateIndex(dev.record.Templates, id) < 0 {
			return id, nil
		}
	}
}

// templateIndex is the index of the template with the given ID, or -1.
func templateIndex(templates []store.Template, id []byte) int {
	return slices.IndexFunc(templates, func(t store.Template) bool { return bytes.Equal(t.ID, id) })
}

// enumerateEnrollments lists the enrolled templates (CTAP 2.1 §6.7.5);
// with none the answer is INVALID_OPTION.
func enumerateEnrollments(dev *deviceState) (*ctap2.BioEnrollmentResponse, error) {
	if len(dev.record.Templates) == 0 {
		return nil, fmt.Errorf("enumerateEnrollments: no templates: %w", ctap2.ErrInvalidOption)
	}
	resp := &ctap2.BioEnrollmentResponse{TemplateInfos: []ctap2.TemplateInfo{}}
	for _, t := range dev.record.Templates {
		resp.TemplateInfos = append(resp.TemplateInfos, ctap2.TemplateInfo{TemplateID: t.ID, TemplateFriendlyName: t.Name})
	}
	return resp, nil
}

// setFriendlyName names an enrolled template (CTAP 2.1 §6.7.7).
func (a *Authenticator) setFriendlyName(dev *deviceState, sub *ctap2.BioEnrollmentParams) error {
	switch {
	case sub.TemplateID == nil:
		return fmt.Errorf("setFriendlyName: templateId: %w", ctap2.ErrMissingParameter)
	case sub.TemplateFriendlyName == nil:
		return fmt.Errorf("setFriendlyName: templateFriendlyName: %w", ctap2.ErrMissingParameter)
	case len(*sub.TemplateFriendlyName) > a.profile.MaxTemplateFriendlyName:
		return fmt.Errorf("setFriendlyName: name of %d bytes, at most %d: %w", len(*sub.TemplateFriendlyName), a.profile.MaxTemplateFriendlyName, ctap2.ErrInvalidParameter)
	case templateIndex(dev.record.Templates, sub.TemplateID) < 0:
		return fmt.Errorf("setFriendlyName: no such template: %w", ctap2.ErrInvalidOption)
	}
	return a.updateDevice(func(d *store.Device) error {
		d.Templates[templateIndex(d.Templates, sub.TemplateID)].Name = *sub.TemplateFriendlyName
		return nil
	})
}

// removeEnrollment deletes an enrolled template (CTAP 2.1 §6.7.8).
func (a *Authenticator) removeEnrollment(dev *deviceState, sub *ctap2.BioEnrollmentParams) error {
	switch {
	case sub.TemplateID == nil:
		return fmt.Errorf("removeEnrollment: templateId: %w", ctap2.ErrMissingParameter)
	case templateIndex(dev.record.Templates, sub.TemplateID) < 0:
		return fmt.Errorf("removeEnrollment: no such template: %w", ctap2.ErrInvalidOption)
	}
	return a.updateDevice(func(d *store.Device) error {
		i := templateIndex(d.Templates, sub.TemplateID)
		d.Templates = slices.Delete(d.Templates, i, i+1)
		if len(d.Templates) == 0 {
			d.Templates = nil
		}
		return nil
	})
}
