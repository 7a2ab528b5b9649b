package authenticator

import (
	"crypto/sha256"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/softkeydev/softkey/ctap2"
	"github.com/softkeydev/softkey/ctap2/pinuv"
)

// Tests of the pre-release CTAP 2.1 (FIDO_2_1_PRE) that YubiKey 5
// firmware 5.2-5.4 and Feitian BioPass keys speak: the prototype commands
// 0x41 and 0x40 with a CTAP 2.0 getPinToken token.

// previewCMProfile is a FIDO_2_1_PRE security key with only the
// prototype credential management, like a YubiKey 5 with firmware 5.4.
func previewCMProfile() *Profile {
	p := DefaultProfile()
	p.Versions = []string{"U2F_V2", "FIDO_2_0", "FIDO_2_1_PRE"}
	p.PinUvAuthToken = false
	p.CredentialManagement, p.CredentialManagementPreview = false, true
	p.LargeBlobs, p.AuthenticatorConfig, p.SetMinPINLength = false, false, false
	p.Extensions = []string{ExtCredProtect, ExtHMACSecret}
	return p
}

// previewBioProfile is previewCMProfile with an emulated fingerprint
// sensor managed only by the prototype bioEnrollment.
func previewBioProfile() *Profile {
	p := previewCMProfile()
	p.UV, p.BioEnrollPreview = true, true
	return p
}

// legacyToken obtains a token with the CTAP 2.0 getPinToken and requires
// success.
func (k *testKey) legacyToken(protocol uint64, pin string) []byte {
	k.t.Helper()
	p, err := pinuv.ByVersion(protocol)
	require.NoError(k.t, err)
	platformKey, secret := k.sharedSecret(protocol)
	sum := sha256.Sum256([]byte(pin))
	pinHashEnc, err := p.Encrypt(rand.NewChaCha8(platformSeed), secret, sum[:16])
	require.NoError(k.t, err)
	status, resp := k.clientPIN(&ctap2.ClientPINRequest{
		PinUvAuthProtocol: protocol,
		SubCommand:        ctap2.PINGetPinToken,
		KeyAgreement:      platformKey,
		PINHashEnc:        pinHashEnc,
	})
	require.Equal(k.t, ctap2.StatusOK, status, "getPinToken: %v", status)
	token, err := p.Decrypt(secret, resp.PinUvAuthToken)
	require.NoError(k.t, err)
	return token
}

// cm sends one credential management request with cmd and decodes a
// successful answer.
func (k *cmKey) cm(cmd ctap2.Command, req *ctap2.CredMgmtRequest) (ctap2.Status, *ctap2.CredMgmtResponse) {
	k.t.Helper()
	status, body := k.do(cmd, req)
	var resp ctap2.CredMgmtResponse
	if status == ctap2.StatusOK && len(body) > 0 {
		require.NoError(k.t, ctap2.Unmarshal(body, &resp))
	}
	return status, &resp
}

func TestPreviewGetInfo(t *testing.T) {
	full := DefaultProfile() // FIDO_2_1 without FIDO_2_1_PRE
	fullPre := DefaultProfile()
	fullPre.Versions = []string{"U2F_V2", "FIDO_2_0", "FIDO_2_1_PRE", "FIDO_2_1"}
	fullPre.UV, fullPre.BioEnroll = true, true
	fullBio := DefaultProfile()
	fullBio.UV, fullBio.BioEnroll = true, true
	tests := []struct {
		name     string
		profile  *Profile
		present  []string
		absent   []string
		modality uint64
	}{
		{
			name: "credentialMgmtPreview only", profile: previewCMProfile(),
			present: []string{"clientPin", "credentialMgmtPreview"},
			absent:  []string{"credMgmt", "pinUvAuthToken", "bioEnroll", "userVerificationMgmtPreview", "uv"},
		},
		{
			name: "both previews only", profile: previewBioProfile(),
			present:  []string{"clientPin", "uv", "credentialMgmtPreview", "userVerificationMgmtPreview"},
			absent:   []string{"credMgmt", "pinUvAuthToken", "bioEnroll"},
			modality: uvModalityFingerprint,
		},
		{
			name: "FIDO_2_1 and FIDO_2_1_PRE", profile: fullPre,
			present:  []string{"credMgmt", "credentialMgmtPreview", "bioEnroll", "userVerificationMgmtPreview", "pinUvAuthToken"},
			modality: uvModalityFingerprint,
		},
		{
			name: "FIDO_2_1 only", profile: fullBio,
			present:  []string{"credMgmt", "bioEnroll", "pinUvAuthToken"},
			absent:   []string{"credentialMgmtPreview", "userVerificationMgmtPreview"},
			modality: uvModalityFingerprint,
		},
		{
			name: "FIDO_2_1 without sensor", profile: full,
			present: []string{"credMgmt"},
			absent:  []string{"credentialMgmtPreview", "bioEnroll", "userVerificationMgmtPreview"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.NoError(t, tc.profile.Validate(), "profile")
			info := newTestKey(t, tc.profile).info()
			for _, id := range tc.present {
				require.Contains(t, info.Options, id, "option %s in %v", id, info.Options)
			}
			for _, id := range tc.absent {
				require.NotContains(t, info.Options, id, "option %s in %v", id, info.Options)
			}
			if tc.profile.CredentialManagement || tc.profile.CredentialManagementPreview {
				require.True(t, info.Options["credentialMgmtPreview"] || info.Options["credMgmt"], "credential management is ready without setup")
			}
			if _, ok := info.Options["userVerificationMgmtPreview"]; ok {
				require.False(t, info.Options["userVerificationMgmtPreview"], "userVerificationMgmtPreview before any enrollment")
				require.False(t, info.Options["uv"], "uv before any enrollment")
			}
			require.Equal(t, tc.modality, info.UVModality, "uvModality")
		})
	}
}

func TestPreviewProfileValidation(t *testing.T) {
	tests := []struct {
		name   string
		change func(p *Profile)
	}{
		{"cred_mgmt_preview without PIN or UV", func(p *Profile) { p.ClientPIN, p.UV = false, false }},
		{"bio_enroll_preview without UV", func(p *Profile) { p.BioEnrollPreview = true }},
		{"bio_enroll_preview without samples", func(p *Profile) { p.UV, p.BioEnrollPreview, p.BioSamples = true, true, 0 }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := previewCMProfile()
			require.NoError(t, p.Validate(), "the profile before the change")
			tc.change(p)
			require.Error(t, p.Validate(), "the changed profile")
		})
	}
}

// TestPreviewCredMgmtWithGetPinToken drives the prototype credential
// management the way libfido2 1.12 does on a YubiKey 5 with firmware
// 5.4: a getPinToken token on command 0x41.
func TestPreviewCredMgmtWithGetPinToken(t *testing.T) {
	k := newCMKey(t, previewCMProfile())
	tok := cmToken{protocol: 2, token: k.legacyToken(2, cmPIN)}
	pre := ctap2.CmdCredentialManagementPre

	status, resp := k.cm(pre, cmRequest(t, &tok, ctap2.CredMgmtGetCredsMetadata, nil))
	require.Equal(t, ctap2.StatusOK, status, "getCredsMetadata on 0x41")
	require.NotNil(t, resp.ExistingResidentCredentialsCount, "existing")
	require.Equal(t, uint64(3), *resp.ExistingResidentCredentialsCount, "existing")

	status, resp = k.cm(pre, cmRequest(t, &tok, ctap2.CredMgmtEnumerateRPsBegin, nil))
	require.Equal(t, ctap2.StatusOK, status, "enumerateRPsBegin on 0x41")
	require.Equal(t, uint64(2), resp.TotalRPs, "totalRPs")
	rps := []string{resp.RP.ID}
	status, resp = k.cm(pre, cmRequest(t, nil, ctap2.CredMgmtEnumerateRPsGetNextRP, nil))
	require.Equal(t, ctap2.StatusOK, status, "enumerateRPsGetNextRP on 0x41")
	rps = append(rps, resp.RP.ID)
	require.ElementsMatch(t, []string{"example.org", "example.com"}, rps, "RPs")

	status, resp = k.cm(pre, cmRequest(t, &tok, ctap2.CredMgmtEnumerateCredentialsBegin, &ctap2.CredMgmtParams{RPIDHash: rpHash("example.com")}))
	require.Equal(t, ctap2.StatusOK, status, "enumerateCredentialsBegin on 0x41")
	require.Equal(t, uint64(1), resp.TotalCredentials, "totalCredentials of example.com")
	require.NotNil(t, resp.CredentialID, "credentialID")
	require.Equal(t, k.creds[2].id, resp.CredentialID.ID, "the credential of example.com")

	del := &ctap2.CredMgmtParams{CredentialID: &ctap2.CredentialDescriptor{Type: ctap2.PublicKeyCredentialType, ID: k.creds[2].id}}
	status, _ = k.cm(pre, cmRequest(t, &tok, ctap2.CredMgmtDeleteCredential, del))
	require.Equal(t, ctap2.StatusOK, status, "deleteCredential on 0x41")
	stored := k.storedCreds()
	require.Len(t, stored, 2, "credentials after the delete")
	for _, c := range stored {
		require.NotEqual(t, k.creds[2].id, c.ID, "the deleted credential is still stored")
	}
}

// TestPreviewNoUpdateUserInformation checks that the prototype of a
// pre-release key lacks updateUserInformation, which CTAP 2.1 added,
// while a CTAP 2.1 key serves it on 0x41 too.
func TestPreviewNoUpdateUserInformation(t *testing.T) {
	for _, tc := range []struct {
		name    string
		profile *Profile
		want    ctap2.Status
	}{
		{"FIDO_2_1_PRE only", previewCMProfile(), ctap2.ErrInvalidSubcommand},
		{"FIDO_2_1", DefaultProfile(), ctap2.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k := newCMKey(t, tc.profile)
			tok := cmToken{protocol: 2, token: k.legacyToken(2, cmPIN)}
			before := k.storedCreds()
			user := k.creds[0].user
			user.DisplayName = "Alice Renamed"
			params := &ctap2.CredMgmtParams{
				CredentialID: &ctap2.CredentialDescriptor{Type: ctap2.PublicKeyCredentialType, ID: k.creds[0].id},
				User:         &user,
			}
			status, _ := k.cm(ctap2.CmdCredentialManagementPre, cmRequest(t, &tok, ctap2.CredMgmtUpdateUserInformation, params))
			require.Equal(t, tc.want, status, "updateUserInformation on 0x41")
			if tc.want != ctap2.StatusOK {
				require.Equal(t, before, k.storedCreds(), "store changed by a refused update")
				return
			}
			stored, err := k.store.Credential(k.creds[0].id)
			require.NoError(t, err)
			require.Equal(t, "Alice Renamed", stored.User.DisplayName, "display name after the update")
		})
	}
}

// TestPreviewTokenRefusedByFinalCommand checks that a getPinToken token
// is no cm or be token for the final commands 0x0A and 0x09 (CTAP 2.1
// §6.5.5.7.1 gives it mc and ga only), on a key that also serves the
// prototypes, where the same token works.
func TestPreviewTokenRefusedByFinalCommand(t *testing.T) {
	p := DefaultProfile()
	p.Versions = []string{"U2F_V2", "FIDO_2_0", "FIDO_2_1_PRE", "FIDO_2_1"}
	t.Run("credentialManagement", func(t *testing.T) {
		k := newCMKey(t, p)
		tok := cmToken{protocol: 2, token: k.legacyToken(2, cmPIN)}
		before := k.storedCreds()
		del := &ctap2.CredMgmtParams{CredentialID: &ctap2.CredentialDescriptor{Type: ctap2.PublicKeyCredentialType, ID: k.creds[0].id}}
		status, _ := k.cm(ctap2.CmdCredentialManagement, cmRequest(t, &tok, ctap2.CredMgmtDeleteCredential, del))
		require.Equal(t, ctap2.ErrPINAuthInvalid, status, "deleteCredential on 0x0A with a getPinToken token")
		require.Equal(t, before, k.storedCreds(), "store changed by a refused delete")
		status, _ = k.cm(ctap2.CmdCredentialManagement, cmRequest(t, &tok, ctap2.CredMgmtGetCredsMetadata, nil))
		require.Equal(t, ctap2.ErrPINAuthInvalid, status, "getCredsMetadata on 0x0A with a getPinToken token")

		// The token is still good for the prototype.
		status, resp := k.cm(ctap2.CmdCredentialManagementPre, cmRequest(t, &tok, ctap2.CredMgmtGetCredsMetadata, nil))
		require.Equal(t, ctap2.StatusOK, status, "getCredsMetadata on 0x41 with the same token")
		require.Equal(t, uint64(3), *resp.ExistingResidentCredentialsCount, "existing")
	})
	t.Run("bioEnrollment", func(t *testing.T) {
		bp := bioProfile(1)
		bp.Versions = p.Versions
		k := newBioKey(t, bp, &UVScript{})
		k.setPIN(2, bioPIN)
		token := k.legacyToken(2, bioPIN)
		status, _ := k.do(ctap2.CmdBioEnrollment, bioRequest(t, 2, token, ctap2.BioEnrollBegin, nil))
		require.Equal(t, ctap2.ErrPINAuthInvalid, status, "enrollBegin on 0x09 with a getPinToken token")
		status, _ = k.do(ctap2.CmdBioEnrollment, bioRequest(t, 2, token, ctap2.BioEnumerateEnrollments, nil))
		require.Equal(t, ctap2.ErrPINAuthInvalid, status, "enumerateEnrollments on 0x09 with a getPinToken token")
		require.Empty(t, k.deviceRecord().Templates, "templates after a refused enrollBegin")
	})
}

// TestPreviewTokenFromPermissionsIsNotLegacy checks that only getPinToken
// tokens get the prototype rule: a getPinUvAuthTokenUsingPinWithPermissions
// token without cm is refused on 0x41 too.
func TestPreviewTokenFromPermissionsIsNotLegacy(t *testing.T) {
	k := newCMKey(t, nil)
	_ = k.legacyToken(2, cmPIN) // replaced by the next token
	tok := k.token(PermLargeBlobWrite, "")
	before := k.storedCreds()
	del := &ctap2.CredMgmtParams{CredentialID: &ctap2.CredentialDescriptor{Type: ctap2.PublicKeyCredentialType, ID: k.creds[0].id}}
	status, _ := k.cm(ctap2.CmdCredentialManagementPre, cmRequest(t, &tok, ctap2.CredMgmtDeleteCredential, del))
	require.Equal(t, ctap2.ErrPINAuthInvalid, status, "deleteCredential on 0x41 with an lbw token")
	require.Equal(t, before, k.storedCreds(), "store changed by a refused delete")
}

// TestPreviewOnlyRefusesFinalCommands checks that a key with only the
// prototypes answers the final commands INVALID_COMMAND, as a key that
// does not know them does (CTAP 2.1 §8.2.1), with a token that the
// prototype accepts.
func TestPreviewOnlyRefusesFinalCommands(t *testing.T) {
	t.Run("credentialManagement", func(t *testing.T) {
		k := newCMKey(t, previewCMProfile())
		tok := cmToken{protocol: 2, token: k.legacyToken(2, cmPIN)}
		before := k.storedCreds()
		del := &ctap2.CredMgmtParams{CredentialID: &ctap2.CredentialDescriptor{Type: ctap2.PublicKeyCredentialType, ID: k.creds[0].id}}
		status, _ := k.cm(ctap2.CmdCredentialManagement, cmRequest(t, &tok, ctap2.CredMgmtDeleteCredential, del))
		require.Equal(t, ctap2.ErrInvalidCommand, status, "deleteCredential on 0x0A")
		require.Equal(t, before, k.storedCreds(), "store changed by a refused delete")
		status, _ = k.cm(ctap2.CmdCredentialManagementPre, cmRequest(t, &tok, ctap2.CredMgmtGetCredsMetadata, nil))
		require.Equal(t, ctap2.StatusOK, status, "getCredsMetadata on 0x41 afterwards")
	})
	t.Run("bioEnrollment", func(t *testing.T) {
		k := newBioKey(t, previewBioProfile(), &UVScript{})
		k.setPIN(2, bioPIN)
		token := k.legacyToken(2, bioPIN)
		status, _ := k.do(ctap2.CmdBioEnrollment, bioRequest(t, 2, token, ctap2.BioEnrollBegin, nil))
		require.Equal(t, ctap2.ErrInvalidCommand, status, "enrollBegin on 0x09")
		require.Empty(t, k.deviceRecord().Templates, "templates after a refused enrollBegin")
		status, _ = k.do(ctap2.CmdBioEnrollment, map[int]any{6: true})
		require.Equal(t, ctap2.ErrInvalidCommand, status, "getModality on 0x09")
	})
}

// TestPreviewBioEnrollmentWithGetPinToken enrolls, lists and removes a
// fingerprint over the prototype command 0x40 with a getPinToken token,
// as python-fido2 does with a Feitian BioPass.
func TestPreviewBioEnrollmentWithGetPinToken(t *testing.T) {
	sensor := &UVScript{}
	p := previewBioProfile()
	p.BioSamples = 2
	k := newBioKey(t, p, sensor)
	k.setPIN(1, bioPIN)
	token := k.legacyToken(1, bioPIN)
	pre := ctap2.CmdBioEnrollmentPre
	send := func(sub uint64, params any) (ctap2.Status, *ctap2.BioEnrollmentResponse) {
		t.Helper()
		status, body := k.do(pre, bioRequest(t, 1, token, sub, params))
		var resp ctap2.BioEnrollmentResponse
		if status == ctap2.StatusOK && len(body) > 0 {
			require.NoError(t, ctap2.Unmarshal(body, &resp))
		}
		return status, &resp
	}

	sensor.Next(true, true)
	status, resp := send(ctap2.BioEnrollBegin, nil)
	require.Equal(t, ctap2.StatusOK, status, "enrollBegin on 0x40")
	id := resp.TemplateID
	_, remaining := sampleResult(t, resp)
	require.Equal(t, uint64(1), remaining, "remaining after the first sample")
	status, resp = send(ctap2.BioEnrollCaptureNextSample, map[int]any{1: id})
	require.Equal(t, ctap2.StatusOK, status, "enrollCaptureNextSample on 0x40")
	_, remaining = sampleResult(t, resp)
	require.Zero(t, remaining, "remaining after the last sample")
	require.True(t, k.info().Options["uv"], "uv once a finger is enrolled")
	require.True(t, k.info().Options["userVerificationMgmtPreview"], "userVerificationMgmtPreview once a finger is enrolled")

	status, resp = send(ctap2.BioEnumerateEnrollments, nil)
	require.Equal(t, ctap2.StatusOK, status, "enumerateEnrollments on 0x40")
	require.Len(t, resp.TemplateInfos, 1, "templates")
	require.Equal(t, id, resp.TemplateInfos[0].TemplateID, "template ID")

	status, _ = send(ctap2.BioRemoveEnrollment, map[int]any{1: id})
	require.Equal(t, ctap2.StatusOK, status, "removeEnrollment on 0x40")
	require.Empty(t, k.deviceRecord().Templates, "templates after the removal")
}
