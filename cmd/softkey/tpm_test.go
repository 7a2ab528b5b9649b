package main

import (
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/stretchr/testify/require"

	"github.com/softkeydev/softkey/authenticator"
	"github.com/softkeydev/softkey/authenticator/keys"
	"github.com/softkeydev/softkey/authenticator/keys/tpmkeys"
	"github.com/softkeydev/softkey/ctap2"
)

func TestKeystoreFlags(t *testing.T) {
	tests := []struct {
		args []string
		want keystoreFlags
	}{
		{nil, keystoreFlags{keystore: keystoreSoft, tpm: "/dev/tpmrm0"}},
		{[]string{"--keystore", "tpm"}, keystoreFlags{keystore: keystoreTPM, tpm: "/dev/tpmrm0"}},
		{[]string{"--keystore=tpm", "--tpm=swtpm:127.0.0.1:2321"}, keystoreFlags{keystore: keystoreTPM, tpm: "swtpm:127.0.0.1:2321"}},
	}
	for _, tt := range tests {
		var got keystoreFlags
		cmd := &cobra.Command{Use: "run", RunE: func(*cobra.Command, []string) error { return nil }}
		addKeystoreFlags(cmd.Flags(), &got)
		cmd.SetArgs(tt.args)
		require.NoError(t, cmd.Execute(), "args %q", tt.args)
		require.Equal(t, tt.want, got, "args %q", tt.args)
	}
}

func TestKeystoreSoft(t *testing.T) {
	for _, name := range []string{"", keystoreSoft} {
		profile := authenticator.DefaultProfile()
		want := append([]ctap2.Alg(nil), profile.Algorithms...)
		backend, closeKeys, err := keystoreFlags{keystore: name}.open(profile, slog.New(slog.DiscardHandler))
		require.NoError(t, err, "--keystore %q", name)
		closeKeys()
		require.IsType(t, &keys.Software{}, backend, "--keystore %q", name)
		require.Equal(t, want, []ctap2.Alg(profile.Algorithms), "--keystore %q changed the profile's algorithms", name)
	}
}

func TestKeystoreErrors(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "tpmrm0")
	tests := []struct {
		name     string
		flags    keystoreFlags
		algs     []ctap2.Alg
		wantErr  error  // checked with errors.Is when set
		wantMsg  string // a substring of the message
		wantHint string // a substring of a hint, when set
	}{
		{"unknown keystore", keystoreFlags{keystore: "hsm"}, nil, nil, `--keystore "hsm": want soft or tpm`, ""},
		{"no TPM device", keystoreFlags{keystore: keystoreTPM, tpm: missing}, nil, tpmkeys.ErrNoTPM, "no TPM found at " + missing, "--keystore soft"},
		{"bad --tpm", keystoreFlags{keystore: keystoreTPM, tpm: "tpm0"}, nil, nil, "want a device path", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			profile := authenticator.DefaultProfile()
			if tt.algs != nil {
				profile.Algorithms = tt.algs
			}
			before := append([]ctap2.Alg(nil), profile.Algorithms...)
			backend, closeKeys, err := tt.flags.open(profile, slog.New(slog.DiscardHandler))
			require.Error(t, err, "%+v", tt.flags)
			require.Nil(t, backend)
			require.Nil(t, closeKeys)
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
			}
			require.ErrorContains(t, err, tt.wantMsg)
			if tt.wantHint != "" {
				var hinted *hintError
				require.ErrorAs(t, err, &hinted)
				require.Contains(t, strings.Join(hinted.hints, "\n"), tt.wantHint)
			}
			require.Equal(t, before, []ctap2.Alg(profile.Algorithms), "a failed open changed the profile")
		})
	}
}
