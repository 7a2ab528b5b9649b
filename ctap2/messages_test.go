package ctap2

import (
	"bytes"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestMakeCredentialRequestRoundTrip(t *testing.T) {
	req := &MakeCredentialRequest{
		ClientDataHash:   bytes.Repeat([]byte{1}, 32),
		RP:               &RPEntity{ID: "example.org", Name: "Example"},
		User:             &UserEntity{ID: []byte{1, 2}, Name: "alice", DisplayName: "Alice"},
		PubKeyCredParams: []CredentialParam{{Type: "public-key", Alg: AlgES256}},
		ExcludeList:      []CredentialDescriptor{{Type: "public-key", ID: []byte{3}}},
		Options:          map[string]bool{"rk": true},
	}
	raw, err := Marshal(req)
	require.NoError(t, err)
	// Canonical CTAP2 CBOR: a map of 6 with integer keys in order.
	require.Equal(t, byte(0xa6), raw[0])
	got, err := ParseMakeCredentialRequest(raw)
	require.NoError(t, err)
	require.Equal(t, req, got)
	again, err := Marshal(got)
	require.NoError(t, err)
	require.Equal(t, raw, again)
}

func TestGetAssertionRequestRoundTrip(t *testing.T) {
	req := &GetAssertionRequest{
		RPID:           "example.org",
		ClientDataHash: bytes.Repeat([]byte{2}, 32),
		AllowList:      []CredentialDescriptor{{Type: "public-key", ID: []byte{3}, Transports: []string{"usb"}}},
		Options:        map[string]bool{"up": false},
	}
	raw, err := Marshal(req)
	require.NoError(t, err)
	got, err := ParseGetAssertionRequest(raw)
	require.NoError(t, err)
	require.Equal(t, req, got)
}

func TestUnmarshalStatuses(t *testing.T) {
	tests := []struct {
		name string
		data []byte
		want Status
	}{
		{"empty", nil, ErrInvalidCBOR},
		{"truncated", []byte{0xa1, 0x01}, ErrInvalidCBOR},
		{"reserved additional info", []byte{0x1c}, ErrInvalidCBOR},
		{"wrong top-level type", []byte{0x01}, ErrCBORUnexpectedType},
		{"text key is an unknown field", []byte{0xa1, 0x61, 0x61, 0x01}, ErrMissingParameter},
		{"invalid UTF-8", []byte{0xa1, 0x01, 0x61, 0xff}, ErrInvalidCBOR},
		{"too many map pairs", append([]byte{0xb8, 0xff}, bytes.Repeat([]byte{0x00, 0x00}, 255)...), ErrLimitExceeded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseGetAssertionRequest(tt.data)
			var got Status
			require.True(t, errors.As(err, &got), "error %v carries no status", err)
			require.Equal(t, tt.want, got, "error: %v", err)
		})
	}
}

func TestStatusError(t *testing.T) {
	require.Equal(t, "CTAP2_ERR_INVALID_CBOR (0x12)", ErrInvalidCBOR.Error())
	require.Equal(t, "CTAP status 0xEE", Status(0xEE).Error())
	require.True(t, ErrNoCredentials.Known())
	require.False(t, Status(0xEE).Known())
}

// FuzzParseMakeCredentialRequest and FuzzParseGetAssertionRequest check
// that a decoder never panics, that every refusal carries a CTAP status, and
// that what it accepts re-encodes into something it accepts again, unchanged.
func FuzzParseMakeCredentialRequest(f *testing.F) {
	fuzzDecoder(f, &MakeCredentialRequest{
		ClientDataHash:   bytes.Repeat([]byte{1}, 32),
		RP:               &RPEntity{ID: "example.org"},
		User:             &UserEntity{ID: []byte{1}},
		PubKeyCredParams: []CredentialParam{{Type: "public-key", Alg: AlgES256}},
	}, ParseMakeCredentialRequest)
}

func FuzzParseGetAssertionRequest(f *testing.F) {
	fuzzDecoder(f, &GetAssertionRequest{
		RPID:           "example.org",
		ClientDataHash: bytes.Repeat([]byte{1}, 32),
		AllowList:      []CredentialDescriptor{{Type: "public-key", ID: []byte{3}}},
	}, ParseGetAssertionRequest)
}

func fuzzDecoder[T any](f *testing.F, seed T, parse func([]byte) (T, error)) {
	raw, err := Marshal(seed)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(raw)
	f.Fuzz(func(t *testing.T, data []byte) {
		req, err := parse(data)
		if err != nil {
			var s Status
			if !errors.As(err, &s) {
				t.Fatalf("refusal without a status: %v", err)
			}
			return
		}
		again, err := Marshal(req)
		if err != nil {
			t.Fatalf("accepted request does not marshal: %v", err)
		}
		req2, err := parse(again)
		if err != nil {
			t.Fatalf("re-encoded request refused: %v", err)
		}
		if !equalCBOR(t, req, req2) {
			t.Fatalf("round trip changed the request")
		}
	})
}

func equalCBOR(t *testing.T, a, b any) bool {
	x, err := Marshal(a)
	require.NoError(t, err)
	y, err := Marshal(b)
	require.NoError(t, err)
	return bytes.Equal(x, y)
}
