package authenticator

import (
	"bytes"
	"context"
	"testing"

	"github.com/softkeydev/softkey/ctap2"
)

// FuzzBioEnrollment feeds authenticatorBioEnrollment requests to a key
// with a PIN and an emulated sensor that rejects every third sample: the
// message as given, and a request for subCommand with subCommandParams
// that carries a valid pinUvAuthParam, so that the fuzzer reaches the
// subcommands. With known set, subCommandParams names the template being
// enrolled, or else the first enrolled one, and the given name, which the
// fuzzer could not guess. The engine must never panic, must answer a known status,
// and the stored templates must stay within the profile's bounds, with
// distinct IDs.
func FuzzBioEnrollment(f *testing.F) {
	seed := func(sub uint64, params any) {
		f.Add(seedCBOR(f, map[int]any{1: 1, 2: sub}), sub, seedCBOR(f, params), false, "")
	}
	seed(ctap2.BioEnrollBegin, map[int]any{3: 1000})
	seed(ctap2.BioEnrollCaptureNextSample, map[int]any{1: []byte{1, 2, 3, 4, 5, 6, 7, 8}})
	seed(ctap2.BioCancelCurrentEnrollment, nil)
	seed(ctap2.BioEnumerateEnrollments, nil)
	seed(ctap2.BioSetFriendlyName, map[int]any{1: []byte{1}, 2: "thumb"})
	seed(ctap2.BioRemoveEnrollment, map[int]any{1: []byte{1}})
	seed(ctap2.BioGetFingerprintSensorInfo, nil)
	f.Add([]byte{0xa1, 0x06, 0xf5}, uint64(0), []byte(nil), false, "") // getModality
	for sub := range uint64(7) {
		f.Add([]byte{0xa0}, sub+1, []byte(nil), true, "thumb")
	}

	samples := 0
	sensor := VerifierFunc(func(ctx context.Context, req VerifyRequest) error {
		samples++
		if samples%3 == 0 {
			return ErrUVNoMatch
		}
		return nil
	})
	p := bioProfile(2)
	k := newBioKey(f, p, sensor)
	k.setPIN(2, bioPIN)
	token := k.pinToken(2, bioPIN, PermBioEnrollment, "")
	send := func(t *testing.T, msg []byte) {
		resp := k.HandleCBOR(context.Background(), append([]byte{byte(ctap2.CmdBioEnrollment)}, msg...))
		if status := ctap2.Status(resp[0]); !status.Known() || (status != ctap2.StatusOK && len(resp) != 1) {
			t.Fatalf("answer %x to %x", resp, msg)
		}
	}
	f.Fuzz(func(t *testing.T, msg []byte, sub uint64, params []byte, known bool, name string) {
		send(t, msg)
		if dev, err := k.device(); known && err == nil {
			m := map[int]any{}
			switch {
			case k.enrollment != nil:
				m[1] = k.enrollment.templateID
			case len(dev.record.Templates) > 0:
				m[1] = dev.record.Templates[0].ID
			}
			if name != "" {
				m[2] = name
			}
			params, _ = ctap2.Marshal(m)
		}
		req := map[int]any{1: 1, 2: sub, 4: 2, 5: authParam(2, token, ctap2.BioEnrollmentAuthMessage(1, uint8(sub), params))}
		if len(params) > 0 {
			req[3] = ctap2.RawMessage(params)
		}
		if signed, err := ctap2.Marshal(req); err == nil {
			send(t, signed)
		}
		dev, err := k.device()
		if err != nil {
			t.Fatal(err)
		}
		templates := dev.record.Templates
		if len(templates) > p.MaxTemplates {
			t.Fatalf("%d templates, at most %d", len(templates), p.MaxTemplates)
		}
		for i, tmpl := range templates {
			if len(tmpl.Name) > p.MaxTemplateFriendlyName {
				t.Fatalf("template name of %d bytes", len(tmpl.Name))
			}
			for _, other := range templates[:i] {
				if bytes.Equal(tmpl.ID, other.ID) {
					t.Fatalf("two templates with ID %x", tmpl.ID)
				}
			}
		}
	})
}
