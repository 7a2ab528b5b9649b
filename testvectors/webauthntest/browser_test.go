package webauthntest

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestWantUV pins when the browser asks for built-in user verification:
// whenever the relying party does not discourage it, and when it does,
// still where the authenticator would refuse the request without it
// (CTAP 2.1 §6.1.2 steps 6-10, §6.2.2 step 5).
func TestWantUV(t *testing.T) {
	ready := uvInfo{builtIn: true}
	notRqd := uvInfo{builtIn: true, makeCredUVNotRqd: true}
	always := uvInfo{builtIn: true, makeCredUVNotRqd: true, alwaysUV: true}
	tests := []struct {
		name             string
		info             uvInfo
		userVerification string
		makeCredential   bool
		rk               bool
		want             bool
		wantErr          bool
	}{
		{"no built-in UV, preferred", uvInfo{}, "preferred", true, false, false, false},
		{"no built-in UV, discouraged", uvInfo{}, "discouraged", false, false, false, false},
		{"no built-in UV, required", uvInfo{}, "required", true, false, false, true},
		{"no built-in UV, required, get", uvInfo{}, "required", false, false, false, true},
		{"preferred", ready, "preferred", true, false, true, false},
		{"required", ready, "required", false, false, true, false},
		{"unset", ready, "", false, false, true, false},
		{"discouraged, create", ready, "discouraged", true, false, true, false},
		{"discouraged, create, makeCredUvNotRqd", notRqd, "discouraged", true, false, false, false},
		{"discouraged, create discoverable, makeCredUvNotRqd", notRqd, "discouraged", true, true, true, false},
		{"discouraged, get", notRqd, "discouraged", false, false, false, false},
		{"discouraged, get, alwaysUv", always, "discouraged", false, false, true, false},
		{"discouraged, create, alwaysUv", always, "discouraged", true, false, true, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.info.wantUV(tc.userVerification, tc.makeCredential, tc.rk)
			if tc.wantErr {
				require.Error(t, err, "wantUV(%+v, %q, mc=%v, rk=%v)", tc.info, tc.userVerification, tc.makeCredential, tc.rk)
				return
			}
			require.NoError(t, err, "wantUV(%+v, %q, mc=%v, rk=%v)", tc.info, tc.userVerification, tc.makeCredential, tc.rk)
			require.Equal(t, tc.want, got, "wantUV(%+v, %q, mc=%v, rk=%v)", tc.info, tc.userVerification, tc.makeCredential, tc.rk)
		})
	}
}
