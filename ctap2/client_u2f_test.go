package ctap2_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/softkeydev/softkey/ctap2"
	"github.com/softkeydev/softkey/ctap2/u2f"
)

// fakeU2F is a Transport that answers U2F APDUs like a minimal key.
type fakeU2F struct {
	t       *testing.T
	sent    [][]byte
	attKey  *ecdsa.PrivateKey
	cert    []byte
	userKey *ecdsa.PrivateKey
	kh      []byte
	counter uint32
	// override, when set, answers instead of the key.
	override func(apdu []byte) ([]byte, error)
}

func newFakeU2F(t *testing.T) *fakeU2F {
	t.Helper()
	att, err := ecdsa.GenerateKey(elliptic.P256(), nil)
	if err != nil {
		t.Fatal(err)
	}
	user, err := ecdsa.GenerateKey(elliptic.P256(), nil)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "fake U2F attestation"},
		NotBefore:    time.Unix(0, 0),
		NotAfter:     time.Unix(1<<31, 0),
	}
	cert, err := x509.CreateCertificate(nil, tmpl, tmpl, &att.PublicKey, att)
	if err != nil {
		t.Fatal(err)
	}
	return &fakeU2F{t: t, attKey: att, cert: cert, userKey: user, kh: bytes.Repeat([]byte{0x4b}, 48), counter: 41}
}

func (f *fakeU2F) CBOR(context.Context, []byte) ([]byte, error) {
	return nil, errors.New("not a CTAP2 device")
}

func (f *fakeU2F) Message(ctx context.Context, apdu []byte) ([]byte, error) {
	f.sent = append(f.sent, bytes.Clone(apdu))
	if f.override != nil {
		return f.override(apdu)
	}
	cmd, err := u2f.ParseCommand(apdu)
	if err != nil {
		var sw u2f.StatusWord
		if !errors.As(err, &sw) {
			f.t.Fatalf("ParseCommand error without status word: %v", err)
		}
		return u2f.WithStatus(nil, sw), nil
	}
	switch cmd.INS {
	case u2f.InsVersion:
		return u2f.WithStatus([]byte(u2f.Version), u2f.SWNoError), nil
	case u2f.InsRegister:
		ch, app, err := u2f.ParseRegisterRequest(cmd.Data)
		if err != nil {
			return u2f.WithStatus(nil, u2f.SWWrongLength), nil
		}
		pub, _ := f.userKey.PublicKey.Bytes()
		res := u2f.RegisterResult{UserPublicKey: pub, KeyHandle: f.kh}
		digest := sha256.Sum256(res.SignedData(ch, app))
		sig, err := ecdsa.SignASN1(nil, f.attKey, digest[:])
		if err != nil {
			return nil, err
		}
		data, err := u2f.RegisterResponse(pub, f.kh, f.cert, sig)
		if err != nil {
			return nil, err
		}
		return u2f.WithStatus(data, u2f.SWNoError), nil
	case u2f.InsAuthenticate:
		ch, app, kh, err := u2f.ParseAuthenticateRequest(cmd.Data)
		if err != nil {
			return u2f.WithStatus(nil, u2f.SWWrongLength), nil
		}
		if !bytes.Equal(kh, f.kh) {
			return u2f.WithStatus(nil, u2f.SWWrongData), nil
		}
		if cmd.P1 == u2f.CheckOnly {
			return u2f.WithStatus(nil, u2f.SWConditionsNotSatisfied), nil
		}
		f.counter++
		res := u2f.AuthenticateResult{UserPresence: u2f.UserPresent, Counter: f.counter}
		digest := sha256.Sum256(res.SignedData(ch, app))
		sig, err := ecdsa.SignASN1(nil, f.userKey, digest[:])
		if err != nil {
			return nil, err
		}
		return u2f.WithStatus(u2f.AuthenticateResponse(u2f.UserPresent, f.counter, sig), u2f.SWNoError), nil
	}
	return u2f.WithStatus(nil, u2f.SWInsNotSupported), nil
}

func TestClientU2FVersion(t *testing.T) {
	f := newFakeU2F(t)
	c := ctap2.NewClient(f)
	v, err := c.U2FVersion(context.Background())
	if err != nil || v != "U2F_V2" {
		t.Fatalf("U2FVersion = %q, %v; want U2F_V2", v, err)
	}
	// Extended-length case 2E: header, 00, Le 0000.
	if want := "00030000000000"; hex.EncodeToString(f.sent[0]) != want {
		t.Errorf("sent %x, want %s", f.sent[0], want)
	}
}

func TestClientU2FRegisterAndAuthenticate(t *testing.T) {
	f := newFakeU2F(t)
	c := ctap2.NewClient(f)
	ctx := context.Background()
	challenge := sha256.Sum256([]byte("client data"))
	app := sha256.Sum256([]byte("https://example.test"))

	reg, err := c.U2FRegister(ctx, challenge, app)
	if err != nil {
		t.Fatalf("U2FRegister: %v", err)
	}
	wantAPDU := "00010000000040" + hex.EncodeToString(challenge[:]) + hex.EncodeToString(app[:]) + "0000"
	if got := hex.EncodeToString(f.sent[0]); got != wantAPDU {
		t.Errorf("register APDU = %s, want %s", got, wantAPDU)
	}
	if !bytes.Equal(reg.KeyHandle, f.kh) || !bytes.Equal(reg.AttestationCert, f.cert) {
		t.Errorf("U2FRegister = %+v", reg)
	}
	cert, err := x509.ParseCertificate(reg.AttestationCert)
	if err != nil {
		t.Fatal(err)
	}
	digest := sha256.Sum256(reg.SignedData(challenge, app))
	if !ecdsa.VerifyASN1(cert.PublicKey.(*ecdsa.PublicKey), digest[:], reg.Signature) {
		t.Error("registration signature does not verify")
	}
	userPub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), reg.UserPublicKey)
	if err != nil {
		t.Fatal(err)
	}

	for _, p1 := range []byte{u2f.EnforceUserPresence, u2f.DontEnforce} {
		auth, err := c.U2FAuthenticate(ctx, p1, challenge, app, reg.KeyHandle)
		if err != nil {
			t.Fatalf("U2FAuthenticate(P1 0x%02X): %v", p1, err)
		}
		sent := f.sent[len(f.sent)-1]
		if sent[2] != p1 || sent[4] != 0 || int(sent[5])<<8|int(sent[6]) != 65+len(reg.KeyHandle) {
			t.Errorf("authenticate APDU header %x", sent[:7])
		}
		if auth.UserPresence != u2f.UserPresent || auth.Counter != f.counter {
			t.Errorf("U2FAuthenticate = %+v", auth)
		}
		digest := sha256.Sum256(auth.SignedData(challenge, app))
		if !ecdsa.VerifyASN1(userPub, digest[:], auth.Signature) {
			t.Error("authentication signature does not verify")
		}
	}

	_, err = c.U2FAuthenticate(ctx, u2f.CheckOnly, challenge, app, reg.KeyHandle)
	if !errors.Is(err, u2f.SWConditionsNotSatisfied) {
		t.Errorf("check-only with our key handle: %v, want SW_CONDITIONS_NOT_SATISFIED", err)
	}
	_, err = c.U2FAuthenticate(ctx, u2f.CheckOnly, challenge, app, []byte("not ours"))
	var sw u2f.StatusWord
	if !errors.As(err, &sw) || sw != u2f.SWWrongData {
		t.Errorf("check-only with a foreign key handle: %v, want SW_WRONG_DATA", err)
	}
	if err != nil && !strings.HasPrefix(err.Error(), "u2f authenticate: ") {
		t.Errorf("error %q lacks context", err)
	}
}

func TestClientU2FErrors(t *testing.T) {
	ctx := context.Background()
	var ch, app [32]byte
	tests := []struct {
		name     string
		reply    func([]byte) ([]byte, error)
		call     func(c *ctap2.Client) error
		wantSW   u2f.StatusWord
		wantText string
	}{
		{
			name:   "touch needed",
			reply:  func([]byte) ([]byte, error) { return []byte{0x69, 0x85}, nil },
			call:   func(c *ctap2.Client) error { _, err := c.U2FRegister(ctx, ch, app); return err },
			wantSW: u2f.SWConditionsNotSatisfied,
		},
		{
			name:   "unknown instruction",
			reply:  func([]byte) ([]byte, error) { return []byte{0x6d, 0x00}, nil },
			call:   func(c *ctap2.Client) error { _, err := c.U2FVersion(ctx); return err },
			wantSW: u2f.SWInsNotSupported,
		},
		{
			name:     "transport failure",
			reply:    func([]byte) ([]byte, error) { return nil, context.DeadlineExceeded },
			call:     func(c *ctap2.Client) error { _, err := c.U2FVersion(ctx); return err },
			wantText: "sending APDU",
		},
		{
			name:     "no status word",
			reply:    func([]byte) ([]byte, error) { return []byte{0x90}, nil },
			call:     func(c *ctap2.Client) error { _, err := c.U2FVersion(ctx); return err },
			wantText: "no status word",
		},
		{
			name:     "malformed register response",
			reply:    func([]byte) ([]byte, error) { return []byte{0x05, 0x04, 0x90, 0x00}, nil },
			call:     func(c *ctap2.Client) error { _, err := c.U2FRegister(ctx, ch, app); return err },
			wantText: "parsing register response",
		},
		{
			name:  "malformed authenticate response",
			reply: func([]byte) ([]byte, error) { return []byte{0x01, 0x90, 0x00}, nil },
			call: func(c *ctap2.Client) error {
				_, err := c.U2FAuthenticate(ctx, u2f.EnforceUserPresence, ch, app, []byte{1})
				return err
			},
			wantText: "parsing authenticate response",
		},
		{
			name:  "key handle too long",
			reply: func([]byte) ([]byte, error) { t.Error("sent a request that cannot be encoded"); return nil, nil },
			call: func(c *ctap2.Client) error {
				_, err := c.U2FAuthenticate(ctx, u2f.EnforceUserPresence, ch, app, make([]byte, 256))
				return err
			},
			wantText: "key handle is 256 bytes",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeU2F(t)
			f.override = tt.reply
			err := tt.call(ctap2.NewClient(f))
			if err == nil {
				t.Fatal("call succeeded, want an error")
			}
			if tt.wantSW != 0 && !errors.Is(err, tt.wantSW) {
				t.Errorf("error %v does not wrap %v", err, tt.wantSW)
			}
			if tt.wantText != "" && !strings.Contains(err.Error(), tt.wantText) {
				t.Errorf("error %q does not mention %q", err, tt.wantText)
			}
			if tt.wantText == "sending APDU" && !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("error %v does not wrap the transport error", err)
			}
		})
	}
}
