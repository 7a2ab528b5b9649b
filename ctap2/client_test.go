package ctap2

import (
	"bytes"
	"context"
	"errors"
	"testing"
)

// scriptedTransport records the CBOR messages a client sends and answers
// each with the same canned response or error.
type scriptedTransport struct {
	sent   [][]byte
	answer []byte
	err    error
}

func (s *scriptedTransport) CBOR(_ context.Context, msg []byte) ([]byte, error) {
	s.sent = append(s.sent, bytes.Clone(msg))
	return s.answer, s.err
}

func (s *scriptedTransport) Message(context.Context, []byte) ([]byte, error) {
	return nil, errors.New("scriptedTransport: no U2F")
}

// okAnswer returns status OK followed by v in CTAP2 CBOR.
func okAnswer(t *testing.T, v any) []byte {
	t.Helper()
	enc, err := Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return append([]byte{byte(StatusOK)}, enc...)
}

func TestClientGetInfo(t *testing.T) {
	want := GetInfoResponse{
		Versions:           []string{"U2F_V2", "FIDO_2_0", "FIDO_2_1"},
		Extensions:         []string{"credProtect", "hmac-secret"},
		AAGUID:             bytes.Repeat([]byte{0xAA}, 16),
		Options:            map[string]bool{"rk": true, "up": true},
		MaxMsgSize:         7609,
		PinUvAuthProtocols: []uint64{2, 1},
		Algorithms:         []CredentialParam{{Type: PublicKeyCredentialType, Alg: -7}},
	}
	tr := &scriptedTransport{answer: okAnswer(t, want)}
	got, err := NewClient(tr).GetInfo(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(tr.sent[0], []byte{byte(CmdGetInfo)}) {
		t.Errorf("sent % x, want 04", tr.sent[0])
	}
	if len(got.Versions) != 3 || got.Versions[2] != "FIDO_2_1" || !bytes.Equal(got.AAGUID, want.AAGUID) ||
		!got.Options["rk"] || got.MaxMsgSize != 7609 || len(got.Algorithms) != 1 || got.Algorithms[0].Alg != -7 {
		t.Errorf("GetInfo = %+v, want %+v", got, want)
	}
}

func TestClientMakeCredential(t *testing.T) {
	req := &MakeCredentialRequest{
		ClientDataHash:   bytes.Repeat([]byte{1}, 32),
		RP:               &RPEntity{ID: "example.org", Name: "Example"},
		User:             &UserEntity{ID: []byte{1, 2, 3}, Name: "alice"},
		PubKeyCredParams: []CredentialParam{{Type: PublicKeyCredentialType, Alg: -7}},
		Options:          map[string]bool{"rk": true},
	}
	attStmt, err := Marshal(map[string]any{})
	if err != nil {
		t.Fatal(err)
	}
	resp := MakeCredentialResponse{Format: "none", AuthData: []byte{9, 9, 9}, AttStmt: attStmt}
	tr := &scriptedTransport{answer: okAnswer(t, resp)}
	got, err := NewClient(tr).MakeCredential(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if got.Format != "none" || !bytes.Equal(got.AuthData, []byte{9, 9, 9}) {
		t.Errorf("MakeCredential = %+v", got)
	}
	sent := tr.sent[0]
	if sent[0] != byte(CmdMakeCredential) {
		t.Fatalf("command byte %#02x, want 01", sent[0])
	}
	parsed, err := ParseMakeCredentialRequest(sent[1:])
	if err != nil {
		t.Fatalf("the request sent does not parse: %v", err)
	}
	if parsed.RP.ID != "example.org" || !bytes.Equal(parsed.User.ID, []byte{1, 2, 3}) || !parsed.Options["rk"] {
		t.Errorf("request sent decodes as %+v", parsed)
	}
}

func TestClientGetAssertion(t *testing.T) {
	req := &GetAssertionRequest{
		RPID:           "example.org",
		ClientDataHash: bytes.Repeat([]byte{2}, 32),
		AllowList:      []CredentialDescriptor{{Type: PublicKeyCredentialType, ID: []byte{7, 7}}},
	}
	resp := GetAssertionResponse{
		Credential:          CredentialDescriptor{Type: PublicKeyCredentialType, ID: []byte{7, 7}},
		AuthData:            []byte{1},
		Signature:           []byte{2},
		NumberOfCredentials: 2,
	}
	tr := &scriptedTransport{answer: okAnswer(t, resp)}
	c := NewClient(tr)
	got, err := c.GetAssertion(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Credential.ID, []byte{7, 7}) || got.NumberOfCredentials != 2 {
		t.Errorf("GetAssertion = %+v", got)
	}
	parsed, err := ParseGetAssertionRequest(tr.sent[0][1:])
	if err != nil || tr.sent[0][0] != byte(CmdGetAssertion) {
		t.Fatalf("the request sent (% x) does not parse: %v", tr.sent[0], err)
	}
	if parsed.RPID != "example.org" || len(parsed.AllowList) != 1 {
		t.Errorf("request sent decodes as %+v", parsed)
	}

	if _, err := c.GetNextAssertion(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(tr.sent[1], []byte{byte(CmdGetNextAssertion)}) {
		t.Errorf("GetNextAssertion sent % x, want 08", tr.sent[1])
	}
}

func TestClientResetAndSelection(t *testing.T) {
	tr := &scriptedTransport{answer: []byte{byte(StatusOK)}}
	c := NewClient(tr)
	if err := c.Reset(context.Background()); err != nil {
		t.Errorf("Reset: %v", err)
	}
	if err := c.Selection(context.Background()); err != nil {
		t.Errorf("Selection: %v", err)
	}
	if len(tr.sent) != 2 || !bytes.Equal(tr.sent[0], []byte{0x07}) || !bytes.Equal(tr.sent[1], []byte{0x0B}) {
		t.Errorf("sent % x, want 07 then 0b", tr.sent)
	}
}

func TestClientErrors(t *testing.T) {
	ctx := context.Background()
	broken := errors.New("wire broken")
	tests := []struct {
		name   string
		answer []byte
		err    error
		call   func(c *Client) error
		want   error
	}{
		{
			name:   "status becomes an error",
			answer: []byte{byte(ErrNoCredentials)},
			call:   func(c *Client) error { _, err := c.GetNextAssertion(ctx); return err },
			want:   ErrNoCredentials,
		},
		{
			name:   "KEEPALIVE_CANCEL on Selection",
			answer: []byte{byte(ErrKeepaliveCancel)},
			call:   func(c *Client) error { return c.Selection(ctx) },
			want:   ErrKeepaliveCancel,
		},
		{
			name:   "NOT_ALLOWED on Reset",
			answer: []byte{byte(ErrNotAllowed)},
			call:   func(c *Client) error { return c.Reset(ctx) },
			want:   ErrNotAllowed,
		},
		{
			name: "transport error is wrapped",
			err:  broken,
			call: func(c *Client) error { _, err := c.GetInfo(ctx); return err },
			want: broken,
		},
		{
			name:   "malformed CBOR",
			answer: []byte{0x00, 0xA1},
			call:   func(c *Client) error { _, err := c.GetInfo(ctx); return err },
			want:   ErrInvalidCBOR,
		},
		{
			name:   "OK without body",
			answer: []byte{0x00},
			call:   func(c *Client) error { _, err := c.GetInfo(ctx); return err },
			want:   ErrInvalidCBOR,
		},
		{
			name:   "getInfo without versions",
			answer: []byte{0x00, 0xA0},
			call:   func(c *Client) error { _, err := c.GetInfo(ctx); return err },
			want:   ErrMissingParameter,
		},
		{
			name:   "assertion without signature",
			answer: []byte{0x00, 0xA1, 0x02, 0x41, 0x00},
			call:   func(c *Client) error { _, err := c.GetNextAssertion(ctx); return err },
			want:   ErrMissingParameter,
		},
		{
			name:   "credential without fmt",
			answer: []byte{0x00, 0xA0},
			call: func(c *Client) error {
				_, err := c.MakeCredential(ctx, &MakeCredentialRequest{})
				return err
			},
			want: ErrMissingParameter,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call(NewClient(&scriptedTransport{answer: tt.answer, err: tt.err}))
			if !errors.Is(err, tt.want) {
				t.Errorf("got %v, want an error wrapping %v", err, tt.want)
			}
		})
	}

	c := NewClient(&scriptedTransport{})
	if err := c.Reset(ctx); err == nil {
		t.Error("empty response accepted")
	}
	if _, err := c.MakeCredential(ctx, nil); err == nil {
		t.Error("nil MakeCredential request accepted")
	}
	if _, err := c.GetAssertion(ctx, nil); err == nil {
		t.Error("nil GetAssertion request accepted")
	}
}
