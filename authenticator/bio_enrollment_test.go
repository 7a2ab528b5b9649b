package authenticator

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/softkeydev/softkey/authenticator/store"
	"github.com/softkeydev/softkey/ctap2"
)

const bioPIN = "12345678"

// bioProfile is the default profile with an emulated fingerprint sensor
// that needs samples good samples per enrollment.
func bioProfile(samples int) *Profile {
	p := DefaultProfile()
	p.UV, p.BioEnroll = true, true
	p.BioSamples = samples
	return p
}

// newBioKey is newTestKey with a verifier, which plays the fingerprint
// sensor.
func newBioKey(t testing.TB, profile *Profile, verifier Verifier) *testKey {
	t.Helper()
	k := newTestKey(t, profile)
	if verifier != nil {
		k.useVerifier(verifier)
	}
	return k
}

// bioRequest builds an authenticatorBioEnrollment request map for the
// fingerprint modality. params, when not nil, is encoded once and both
// sent and authenticated as such; with a token the request carries
// pinUvAuthParam and protocol.
func bioRequest(t testing.TB, protocol uint64, token []byte, sub uint64, params any) map[int]any {
	t.Helper()
	req := map[int]any{1: ctap2.BioModalityFingerprint, 2: sub}
	var raw []byte
	if params != nil {
		var err error
		raw, err = ctap2.Marshal(params)
		require.NoError(t, err)
		req[3] = ctap2.RawMessage(raw)
	}
	if token != nil {
		req[4] = protocol
		req[5] = authParam(protocol, token, ctap2.BioEnrollmentAuthMessage(ctap2.BioModalityFingerprint, uint8(sub), raw))
	}
	return req
}

// bio sends a bioEnrollment request and decodes a successful answer.
func (k *testKey) bio(req any) (ctap2.Status, *ctap2.BioEnrollmentResponse) {
	k.t.Helper()
	status, body := k.do(ctap2.CmdBioEnrollment, req)
	var resp ctap2.BioEnrollmentResponse
	if status == ctap2.StatusOK && len(body) > 0 {
		require.NoError(k.t, ctap2.Unmarshal(body, &resp))
	}
	return status, &resp
}

// sampleResult is an enrollment answer's feedback and remaining samples.
func sampleResult(t testing.TB, resp *ctap2.BioEnrollmentResponse) (feedback, remaining uint64) {
	t.Helper()
	require.NotNil(t, resp.LastEnrollSampleStatus, "lastEnrollSampleStatus")
	require.NotNil(t, resp.RemainingSamples, "remainingSamples")
	return *resp.LastEnrollSampleStatus, *resp.RemainingSamples
}

// enroll enrolls one fingerprint with good samples only and returns its
// template ID.
func (k *testKey) enroll(token []byte) []byte {
	k.t.Helper()
	status, resp := k.bio(bioRequest(k.t, 2, token, ctap2.BioEnrollBegin, nil))
	require.Equal(k.t, ctap2.StatusOK, status, "enrollBegin: %v", status)
	id := resp.TemplateID
	_, remaining := sampleResult(k.t, resp)
	for remaining > 0 {
		status, resp = k.bio(bioRequest(k.t, 2, token, ctap2.BioEnrollCaptureNextSample, map[int]any{1: id}))
		require.Equal(k.t, ctap2.StatusOK, status, "enrollCaptureNextSample: %v", status)
		_, remaining = sampleResult(k.t, resp)
	}
	return id
}

func TestBioSensorInfo(t *testing.T) {
	p := bioProfile(5)
	p.MaxTemplateFriendlyName = 32
	k := newBioKey(t, p, &UVScript{})
	for _, cmd := range []ctap2.Command{ctap2.CmdBioEnrollment, ctap2.CmdBioEnrollmentPre} {
		status, body := k.do(cmd, map[int]any{6: true})
		require.Equal(t, ctap2.StatusOK, status, "%v getModality", cmd)
		var resp ctap2.BioEnrollmentResponse
		require.NoError(t, ctap2.Unmarshal(body, &resp))
		require.Equal(t, ctap2.BioEnrollmentResponse{Modality: 1}, resp, "%v getModality", cmd)

		status, body = k.do(cmd, map[int]any{1: 1, 2: ctap2.BioGetFingerprintSensorInfo})
		require.Equal(t, ctap2.StatusOK, status, "%v getFingerprintSensorInfo", cmd)
		resp = ctap2.BioEnrollmentResponse{}
		require.NoError(t, ctap2.Unmarshal(body, &resp))
		require.Equal(t, ctap2.BioEnrollmentResponse{
			Modality:                           1,
			FingerprintKind:                    ctap2.FingerprintKindTouch,
			MaxCaptureSamplesRequiredForEnroll: 5,
			MaxTemplateFriendlyName:            32,
		}, resp, "%v getFingerprintSensorInfo", cmd)
	}
}

func TestBioEnrollment(t *testing.T) {
	for i, cmd := range []ctap2.Command{ctap2.CmdBioEnrollment, ctap2.CmdBioEnrollmentPre} {
		protocol := uint64(i + 1) // PIN/UV auth protocol 1 with the command, 2 with the prototype
		t.Run(cmd.String(), func(t *testing.T) {
			sensor := &UVScript{}
			k := newBioKey(t, bioProfile(4), sensor)
			k.setPIN(protocol, bioPIN)
			token := k.pinToken(protocol, bioPIN, PermBioEnrollment, "")
			require.False(t, k.info().Options["uv"], "uv before any enrollment")
			require.False(t, k.info().Options["bioEnroll"], "bioEnroll before any enrollment")
			send := func(sub uint64, params any) (ctap2.Status, *ctap2.BioEnrollmentResponse) {
				status, body := k.do(cmd, bioRequest(t, protocol, token, sub, params))
				var resp ctap2.BioEnrollmentResponse
				if status == ctap2.StatusOK && len(body) > 0 {
					require.NoError(t, ctap2.Unmarshal(body, &resp))
				}
				return status, &resp
			}

			// Samples: good, poor, good, good, good.
			sensor.Next(true, false, true, true, true)
			status, resp := send(ctap2.BioEnrollBegin, map[int]any{3: 10000})
			require.Equal(t, ctap2.StatusOK, status, "enrollBegin")
			id := resp.TemplateID
			require.Len(t, id, templateIDLength)
			steps := []struct{ feedback, remaining uint64 }{
				{ctap2.EnrollFeedbackPoorQuality, 3},
				{ctap2.EnrollFeedbackGood, 2},
				{ctap2.EnrollFeedbackGood, 1},
				{ctap2.EnrollFeedbackGood, 0},
			}
			feedback, remaining := sampleResult(t, resp)
			require.Equal(t, []uint64{ctap2.EnrollFeedbackGood, 3}, []uint64{feedback, remaining}, "enrollBegin feedback, remaining")
			for i, want := range steps {
				require.Empty(t, k.deviceRecord().Templates, "template stored before the last sample (step %d)", i)
				status, resp = send(ctap2.BioEnrollCaptureNextSample, map[int]any{1: id})
				require.Equal(t, ctap2.StatusOK, status, "enrollCaptureNextSample %d", i)
				require.Nil(t, resp.TemplateID, "templateId only in enrollBegin's answer")
				feedback, remaining = sampleResult(t, resp)
				require.Equal(t, []uint64{want.feedback, want.remaining}, []uint64{feedback, remaining}, "sample %d feedback, remaining", i)
			}
			require.Equal(t, []store.Template{{ID: id}}, k.deviceRecord().Templates)
			require.Nil(t, k.enrollment, "enrollment ends with its last sample")
			for _, r := range sensor.Requests() {
				require.Equal(t, VerifyRequest{Operation: "enroll"}, r)
			}
			require.Len(t, sensor.Requests(), 5)
			require.True(t, k.info().Options["uv"], "uv once a fingerprint is enrolled")
			require.True(t, k.info().Options["bioEnroll"], "bioEnroll once a fingerprint is enrolled")

			status, resp = send(ctap2.BioEnumerateEnrollments, nil)
			require.Equal(t, ctap2.StatusOK, status, "enumerateEnrollments")
			require.Equal(t, []ctap2.TemplateInfo{{TemplateID: id}}, resp.TemplateInfos)

			status, _ = send(ctap2.BioSetFriendlyName, map[int]any{1: id, 2: "right thumb"})
			require.Equal(t, ctap2.StatusOK, status, "setFriendlyName")
			status, resp = send(ctap2.BioEnumerateEnrollments, nil)
			require.Equal(t, ctap2.StatusOK, status, "enumerateEnrollments")
			require.Equal(t, []ctap2.TemplateInfo{{TemplateID: id, TemplateFriendlyName: "right thumb"}}, resp.TemplateInfos)

			status, _ = send(ctap2.BioRemoveEnrollment, map[int]any{1: id})
			require.Equal(t, ctap2.StatusOK, status, "removeEnrollment")
			require.Empty(t, k.deviceRecord().Templates)
			require.False(t, k.info().Options["uv"], "uv after the last fingerprint is removed")
			status, _ = send(ctap2.BioEnumerateEnrollments, nil)
			require.Equal(t, ctap2.ErrInvalidOption, status, "enumerateEnrollments with none")
		})
	}
}

func TestBioEnrollBeginReplacesEnrollment(t *testing.T) {
	k := newBioKey(t, bioProfile(3), &UVScript{})
	k.setPIN(2, bioPIN)
	token := k.pinToken(2, bioPIN, PermBioEnrollment, "")
	_, first := k.bio(bioRequest(t, 2, token, ctap2.BioEnrollBegin, nil))
	_, second := k.bio(bioRequest(t, 2, token, ctap2.BioEnrollBegin, nil))
	require.NotEqual(t, first.TemplateID, second.TemplateID, "a new template ID")
	status, _ := k.bio(bioRequest(t, 2, token, ctap2.BioEnrollCaptureNextSample, map[int]any{1: first.TemplateID}))
	require.Equal(t, ctap2.ErrInvalidParameter, status, "the first enrollment was cancelled")
	status, resp := k.bio(bioRequest(t, 2, token, ctap2.BioEnrollCaptureNextSample, map[int]any{1: second.TemplateID}))
	require.Equal(t, ctap2.StatusOK, status, "the second enrollment goes on")
	_, remaining := sampleResult(t, resp)
	require.Equal(t, uint64(1), remaining)
}

func TestBioEnrollmentSingleSample(t *testing.T) {
	k := newBioKey(t, bioProfile(1), &UVScript{})
	k.setPIN(2, bioPIN)
	token := k.pinToken(2, bioPIN, PermBioEnrollment, "")
	status, resp := k.bio(bioRequest(t, 2, token, ctap2.BioEnrollBegin, nil))
	require.Equal(t, ctap2.StatusOK, status)
	_, remaining := sampleResult(t, resp)
	require.Equal(t, uint64(0), remaining)
	require.Equal(t, []store.Template{{ID: resp.TemplateID}}, k.deviceRecord().Templates, "stored by enrollBegin itself")
	require.Nil(t, k.enrollment)
}

func TestBioEnrollmentCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var keepalives []ctap2.KeepaliveStatus
	ctx = ctap2.WithKeepalive(ctx, func(s ctap2.KeepaliveStatus) { keepalives = append(keepalives, s) })
	cancelNext := false
	sensor := VerifierFunc(func(ctx context.Context, req VerifyRequest) error {
		if cancelNext {
			cancel()
			return ctx.Err()
		}
		return nil
	})
	k := newBioKey(t, bioProfile(3), sensor)
	k.setPIN(2, bioPIN)
	token := k.pinToken(2, bioPIN, PermBioEnrollment, "")
	send := func(req map[int]any) ctap2.Status {
		b, err := ctap2.Marshal(req)
		require.NoError(t, err)
		return ctap2.Status(k.HandleCBOR(ctx, append([]byte{byte(ctap2.CmdBioEnrollment)}, b...))[0])
	}

	_, resp := k.bio(bioRequest(t, 2, token, ctap2.BioEnrollBegin, nil))
	id := resp.TemplateID
	cancelNext = true
	require.Equal(t, ctap2.ErrKeepaliveCancel, send(bioRequest(t, 2, token, ctap2.BioEnrollCaptureNextSample, map[int]any{1: id})))
	require.Equal(t, []ctap2.KeepaliveStatus{ctap2.KeepaliveUPNeeded, ctap2.KeepaliveProcessing}, keepalives, "UPNEEDED while the sensor waits")
	require.Nil(t, k.enrollment, "a cancelled capture cancels the enrollment")
	require.Empty(t, k.deviceRecord().Templates)

	// cancelCurrentEnrollment needs no authentication.
	cancelNext = false
	_, resp = k.bio(bioRequest(t, 2, token, ctap2.BioEnrollBegin, nil))
	status, _ := k.bio(bioRequest(t, 0, nil, ctap2.BioCancelCurrentEnrollment, nil))
	require.Equal(t, ctap2.StatusOK, status, "cancelCurrentEnrollment")
	status, _ = k.bio(bioRequest(t, 2, token, ctap2.BioEnrollCaptureNextSample, map[int]any{1: resp.TemplateID}))
	require.Equal(t, ctap2.ErrInvalidParameter, status, "capture after cancelCurrentEnrollment")
	require.Empty(t, k.deviceRecord().Templates)

	// A power cycle forgets the enrollment too.
	_, resp = k.bio(bioRequest(t, 2, token, ctap2.BioEnrollBegin, nil))
	k.PowerCycle()
	token = k.pinToken(2, bioPIN, PermBioEnrollment, "")
	status, _ = k.bio(bioRequest(t, 2, token, ctap2.BioEnrollCaptureNextSample, map[int]any{1: resp.TemplateID}))
	require.Equal(t, ctap2.ErrInvalidParameter, status, "capture after a power cycle")

	// So does authenticatorReset: no template of the old device lands on
	// the new one.
	_, resp = k.bio(bioRequest(t, 2, token, ctap2.BioEnrollBegin, nil))
	status, _ = k.do(ctap2.CmdReset, nil)
	require.Equal(t, ctap2.StatusOK, status, "reset")
	k.setPIN(2, bioPIN)
	token = k.pinToken(2, bioPIN, PermBioEnrollment, "")
	status, _ = k.bio(bioRequest(t, 2, token, ctap2.BioEnrollCaptureNextSample, map[int]any{1: resp.TemplateID}))
	require.Equal(t, ctap2.ErrInvalidParameter, status, "capture after a reset")
	require.Empty(t, k.deviceRecord().Templates)
}

func TestBioEnrollmentTimeout(t *testing.T) {
	// The sensor gives up once timeoutMilliseconds is over; here it sees
	// the deadline and gives up at once.
	sensor := VerifierFunc(func(ctx context.Context, req VerifyRequest) error {
		if _, ok := ctx.Deadline(); ok {
			return context.DeadlineExceeded
		}
		return nil
	})
	k := newBioKey(t, bioProfile(3), sensor)
	k.setPIN(2, bioPIN)
	token := k.pinToken(2, bioPIN, PermBioEnrollment, "")
	status, resp := k.bio(bioRequest(t, 2, token, ctap2.BioEnrollBegin, map[int]any{3: 5000}))
	require.Equal(t, ctap2.StatusOK, status)
	feedback, remaining := sampleResult(t, resp)
	require.Equal(t, []uint64{ctap2.EnrollFeedbackNoUserActivity, 3}, []uint64{feedback, remaining}, "feedback, remaining after a timeout")
	id := resp.TemplateID

	status, resp = k.bio(bioRequest(t, 2, token, ctap2.BioEnrollCaptureNextSample, map[int]any{1: id}))
	require.Equal(t, ctap2.StatusOK, status, "the enrollment survives a timeout")
	feedback, remaining = sampleResult(t, resp)
	require.Equal(t, []uint64{ctap2.EnrollFeedbackGood, 2}, []uint64{feedback, remaining})
}

func TestBioEnrollmentBadInput(t *testing.T) {
	type state struct {
		k       *testKey
		token   []byte
		id      []byte // an enrolled template
		current []byte // the template being enrolled
	}
	// Every case starts from a key with a PIN, one enrolled template and
	// an enrollment in progress (MaxTemplates 2, two samples each).
	setup := func(t *testing.T, p *Profile, perms Permission) *state {
		k := newBioKey(t, p, &UVScript{})
		k.setPIN(2, bioPIN)
		token := k.pinToken(2, bioPIN, PermBioEnrollment, "")
		s := &state{k: k, token: token, id: k.enroll(token)}
		if p.MaxTemplates > 1 {
			_, resp := k.bio(bioRequest(t, 2, token, ctap2.BioEnrollBegin, nil))
			s.current = resp.TemplateID
			require.NotNil(t, k.enrollment)
		}
		if perms != PermBioEnrollment {
			s.token = k.pinToken(2, bioPIN, perms, "")
		}
		return s
	}
	fullDB := bioProfile(2)
	fullDB.MaxTemplates = 1
	noBio := DefaultProfile()
	long := strings.Repeat("n", 65)

	tests := []struct {
		name    string
		profile *Profile
		perms   Permission
		req     func(t *testing.T, s *state) any
		want    ctap2.Status
	}{
		{"no bioEnroll", noBio, 0, nil, ctap2.ErrInvalidCommand},
		{"not a map", nil, PermBioEnrollment, func(*testing.T, *state) any { return []int{1} }, ctap2.ErrCBORUnexpectedType},
		{"no modality", nil, PermBioEnrollment, func(*testing.T, *state) any {
			return map[int]any{2: ctap2.BioGetFingerprintSensorInfo}
		}, ctap2.ErrMissingParameter},
		{"unknown modality", nil, PermBioEnrollment, func(*testing.T, *state) any {
			return map[int]any{1: 2, 2: ctap2.BioGetFingerprintSensorInfo}
		}, ctap2.ErrInvalidParameter},
		{"no subCommand", nil, PermBioEnrollment, func(*testing.T, *state) any { return map[int]any{1: 1} }, ctap2.ErrMissingParameter},
		{"unknown subCommand", nil, PermBioEnrollment, func(t *testing.T, s *state) any {
			return bioRequest(t, 2, s.token, 8, nil)
		}, ctap2.ErrInvalidSubcommand},
		{"subCommandParams not a map", nil, PermBioEnrollment, func(t *testing.T, s *state) any {
			r := bioRequest(t, 2, s.token, ctap2.BioRemoveEnrollment, nil)
			r[3] = []int{1}
			return r
		}, ctap2.ErrCBORUnexpectedType},
		{"templateId not bytes", nil, PermBioEnrollment, func(t *testing.T, s *state) any {
			return bioRequest(t, 2, s.token, ctap2.BioRemoveEnrollment, map[int]any{1: "id"})
		}, ctap2.ErrCBORUnexpectedType},
		{"no pinUvAuthParam", nil, PermBioEnrollment, func(t *testing.T, s *state) any {
			return bioRequest(t, 2, nil, ctap2.BioEnumerateEnrollments, nil)
		}, ctap2.ErrPUATRequired},
		{"no pinUvAuthProtocol", nil, PermBioEnrollment, func(t *testing.T, s *state) any {
			r := bioRequest(t, 2, s.token, ctap2.BioEnumerateEnrollments, nil)
			delete(r, 4)
			return r
		}, ctap2.ErrMissingParameter},
		{"unsupported pinUvAuthProtocol", nil, PermBioEnrollment, func(t *testing.T, s *state) any {
			r := bioRequest(t, 2, s.token, ctap2.BioEnumerateEnrollments, nil)
			r[4] = 3
			return r
		}, ctap2.ErrInvalidParameter},
		{"MAC over other parameters", nil, PermBioEnrollment, func(t *testing.T, s *state) any {
			r := bioRequest(t, 2, s.token, ctap2.BioRemoveEnrollment, map[int]any{1: []byte("other")})
			r[3] = ctap2.RawMessage(mustMarshal(t, map[int]any{1: s.id}))
			return r
		}, ctap2.ErrPINAuthInvalid},
		{"MAC for another subcommand", nil, PermBioEnrollment, func(t *testing.T, s *state) any {
			r := bioRequest(t, 2, s.token, ctap2.BioSetFriendlyName, map[int]any{1: s.id})
			r[2] = ctap2.BioRemoveEnrollment
			return r
		}, ctap2.ErrPINAuthInvalid},
		{"token without be", nil, PermCredentialManagement, func(t *testing.T, s *state) any {
			return bioRequest(t, 2, s.token, ctap2.BioRemoveEnrollment, map[int]any{1: s.id})
		}, ctap2.ErrPINAuthInvalid},
		{"database full", fullDB, PermBioEnrollment, func(t *testing.T, s *state) any {
			return bioRequest(t, 2, s.token, ctap2.BioEnrollBegin, nil)
		}, ctap2.ErrFPDatabaseFull},
		{"capture without templateId", nil, PermBioEnrollment, func(t *testing.T, s *state) any {
			return bioRequest(t, 2, s.token, ctap2.BioEnrollCaptureNextSample, map[int]any{3: 1000})
		}, ctap2.ErrMissingParameter},
		{"capture for another template", nil, PermBioEnrollment, func(t *testing.T, s *state) any {
			return bioRequest(t, 2, s.token, ctap2.BioEnrollCaptureNextSample, map[int]any{1: s.id})
		}, ctap2.ErrInvalidParameter},
		{"setFriendlyName, unknown template", nil, PermBioEnrollment, func(t *testing.T, s *state) any {
			return bioRequest(t, 2, s.token, ctap2.BioSetFriendlyName, map[int]any{1: s.current, 2: "thumb"})
		}, ctap2.ErrInvalidOption},
		{"setFriendlyName, name too long", nil, PermBioEnrollment, func(t *testing.T, s *state) any {
			return bioRequest(t, 2, s.token, ctap2.BioSetFriendlyName, map[int]any{1: s.id, 2: long})
		}, ctap2.ErrInvalidParameter},
		{"setFriendlyName without name", nil, PermBioEnrollment, func(t *testing.T, s *state) any {
			return bioRequest(t, 2, s.token, ctap2.BioSetFriendlyName, map[int]any{1: s.id})
		}, ctap2.ErrMissingParameter},
		{"setFriendlyName without templateId", nil, PermBioEnrollment, func(t *testing.T, s *state) any {
			return bioRequest(t, 2, s.token, ctap2.BioSetFriendlyName, map[int]any{2: "thumb"})
		}, ctap2.ErrMissingParameter},
		{"removeEnrollment, unknown template", nil, PermBioEnrollment, func(t *testing.T, s *state) any {
			return bioRequest(t, 2, s.token, ctap2.BioRemoveEnrollment, map[int]any{1: s.current})
		}, ctap2.ErrInvalidOption},
		{"removeEnrollment without templateId", nil, PermBioEnrollment, func(t *testing.T, s *state) any {
			return bioRequest(t, 2, s.token, ctap2.BioRemoveEnrollment, nil)
		}, ctap2.ErrMissingParameter},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.req == nil { // the key has no bioEnrollment at all
				k := newBioKey(t, tt.profile, &UVScript{})
				before := k.deviceRecord()
				status, _ := k.bio(map[int]any{6: true})
				require.Equal(t, tt.want, status, "got %v, want %v", status, tt.want)
				require.Equal(t, before, k.deviceRecord())
				return
			}
			p := tt.profile
			if p == nil {
				p = bioProfile(2)
				p.MaxTemplates = 2
			}
			s := setup(t, p, tt.perms)
			snapshot := func() any {
				if s.k.enrollment == nil {
					return nil
				}
				return *s.k.enrollment
			}
			before, enrolling := s.k.deviceRecord(), snapshot()
			status, _ := s.k.bio(tt.req(t, s))
			require.Equal(t, tt.want, status, "got %v, want %v", status, tt.want)
			require.Equal(t, before, s.k.deviceRecord(), "templates changed by a refused request")
			require.Equal(t, enrolling, snapshot(), "enrollment changed by a refused request")
		})
	}
}

func mustMarshal(t testing.TB, v any) []byte {
	t.Helper()
	b, err := ctap2.Marshal(v)
	require.NoError(t, err)
	return b
}

func TestClientBioEnrollment(t *testing.T) {
	k := newBioKey(t, bioProfile(1), &UVScript{})
	k.setPIN(2, bioPIN)
	token := k.pinToken(2, bioPIN, PermBioEnrollment, "")
	c := ctap2.NewClient(cfgKeyTransport{k})
	ctx := context.Background()

	info, err := c.BioEnrollment(ctx, ctap2.CmdBioEnrollmentPre, &ctap2.BioEnrollmentRequest{Modality: 1, SubCommand: ctap2.BioGetFingerprintSensorInfo})
	require.NoError(t, err, "getFingerprintSensorInfo")
	require.Equal(t, uint64(1), info.MaxCaptureSamplesRequiredForEnroll)

	resp, err := c.BioEnrollment(ctx, ctap2.CmdBioEnrollment, &ctap2.BioEnrollmentRequest{
		Modality:          1,
		SubCommand:        ctap2.BioEnrollBegin,
		PinUvAuthProtocol: 2,
		PinUvAuthParam:    authParam(2, token, ctap2.BioEnrollmentAuthMessage(1, ctap2.BioEnrollBegin, nil)),
	})
	require.NoError(t, err, "enrollBegin")
	require.Equal(t, []store.Template{{ID: resp.TemplateID}}, k.deviceRecord().Templates)

	resp, err = c.BioEnrollment(ctx, ctap2.CmdBioEnrollment, &ctap2.BioEnrollmentRequest{Modality: 1, SubCommand: ctap2.BioCancelCurrentEnrollment})
	require.NoError(t, err, "cancelCurrentEnrollment has no response body")
	require.Equal(t, &ctap2.BioEnrollmentResponse{}, resp)

	_, err = c.BioEnrollment(ctx, ctap2.CmdBioEnrollment, &ctap2.BioEnrollmentRequest{Modality: 1, SubCommand: ctap2.BioEnumerateEnrollments})
	require.ErrorIs(t, err, ctap2.ErrPUATRequired)
	_, err = c.BioEnrollment(ctx, ctap2.CmdConfig, &ctap2.BioEnrollmentRequest{Modality: 1})
	require.Error(t, err, "not a bioEnrollment command")
}
