package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"
	"github.com/spf13/cobra"

	"github.com/softkeydev/softkey/ctap2"
	"github.com/softkeydev/softkey/transport/hybrid"
	"github.com/softkeydev/softkey/transport/hybrid/advert"
)

func newHybridCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "hybrid",
		Short: "Play the desktop or the phone of a hybrid (caBLE v2) sign-in",
		Args:  usageArgs(cobra.NoArgs),
		RunE:  func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newHybridQRCommand(), newHybridPhoneCommand(), newHybridDecodeCommand())
	return cmd
}

// tunnelResolver maps every tunnel server domain to --tunnel, or leaves
// the real domains when it is empty (hybrid-cable.md §5.3).
func tunnelResolver(base string) (hybrid.Resolver, error) {
	if base == "" {
		return nil, nil
	}
	if !strings.HasPrefix(base, "ws://") && !strings.HasPrefix(base, "wss://") {
		return nil, withHints(fmt.Errorf("--tunnel must be a ws:// or wss:// URL, not %q", base),
			"softkey tunnel serve prints the URL on its ready line")
	}
	base = strings.TrimSuffix(base, "/")
	return func(uint16) (string, error) { return base, nil }, nil
}

type hybridQROptions struct {
	tunnel     string
	advert     string
	advertAddr string
	rpID       string
	user       string
	timeout    time.Duration
	json       bool
	logLevel   string
	png        string
	link       hybridLinkOptions
}

func newHybridQRCommand() *cobra.Command {
	var o hybridQROptions
	cmd := &cobra.Command{
		Use:   "qr",
		Short: "Play the desktop: show a QR code, then register and sign in through the phone",
		Long: `Play the desktop (the browser) of a hybrid sign-in.

softkey prints a FIDO:/ URI (the text of the QR code a browser shows),
waits for the phone's advert on the advert channel (--advert-addr, UDP on
loopback, the stand-in for Bluetooth), joins the phone's tunnel, and then
registers a credential and signs in with it, as a browser would for the
relying party --rp. The relying party's side runs in process with
go-webauthn, which verifies the attestation and the assertion.

Without --json, the QR code and the URI go to stdout, followed by the
outcome. With --json, they go to stderr and stdout gets one JSON object:
{"uri":…,"credentialId":…,"attestationFormat":…,"registered":true,
"signatureVerified":true,"signCount":…}.

The QR code is drawn with half blocks in inverted colours, for a dark
terminal; --png FILE also writes it as a PNG image. Paste the URI into
softkey hybrid phone, or pass it the image with --qr-image.`,
		Example: `  softkey tunnel serve --listen 127.0.0.1:8112 &
  softkey hybrid qr --tunnel ws://127.0.0.1:8112 --rp example.org --user alice
  # in another terminal:
  softkey hybrid phone 'FIDO:/…' --tunnel ws://127.0.0.1:8112 --memory --presence auto`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runHybridQR(cmd.Context(), &o, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.tunnel, "tunnel", "", "tunnel server `URL` standing in for every domain (default: the real domain in the advert)")
	f.StringVar(&o.advertAddr, "advert-addr", advert.DefaultAddr, "UDP `address` to receive adverts on")
	addAdvertFlag(f, &o.advert)
	f.StringVar(&o.rpID, "rp", "example.org", "relying party `ID`; the origin is https://ID")
	f.StringVar(&o.user, "user", "alice", "user `name` to register")
	f.DurationVar(&o.timeout, "timeout", 2*time.Minute, "how long to wait for the phone and each step")
	f.BoolVar(&o.json, "json", false, "print the outcome as JSON")
	f.StringVar(&o.png, "png", "", "also write the QR code as a PNG image to `FILE`")
	o.link.addQRFlags(f)
	f.StringVar(&o.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	return cmd
}

// hybridOutcome is the --json output of softkey hybrid qr.
type hybridOutcome struct {
	URI               string `json:"uri"`
	CredentialID      string `json:"credentialId"` // base64url, no padding
	AttestationFormat string `json:"attestationFormat"`
	Registered        bool   `json:"registered"`
	SignatureVerified bool   `json:"signatureVerified"`
	SignCount         uint32 `json:"signCount"`
	Linked            bool   `json:"linked"` // signed in through a linked phone, no QR code
}

func runHybridQR(ctx context.Context, o *hybridQROptions, stdout, stderr io.Writer) error {
	logger, err := newLogger(stderr, o.logLevel)
	if err != nil {
		return err
	}
	resolve, err := tunnelResolver(o.tunnel)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	if o.link.linked {
		return o.link.runHybridLinked(ctx, o, resolve, logger, stdout)
	}

	// Listen before showing the code, so that no advert is missed.
	scanner, closeScanner, err := advertScanner(o.advert, o.advertAddr, logger)
	if err != nil {
		return err
	}
	desktop, err := hybrid.NewDesktop(hybrid.DesktopConfig{
		Scanner:         scanner,
		Resolve:         resolve,
		RequestType:     hybrid.MakeCredential,
		SupportsLinking: o.link.state != "",
		Logger:          logger,
	})
	if err != nil {
		closeScanner()
		return err
	}
	out := hybridOutcome{URI: desktop.QR().URI()}
	if err := showHybridQR(out.URI, o.png, o.json, stdout, stderr); err != nil {
		closeScanner()
		return err
	}
	session, err := desktop.Connect(ctx)
	if err != nil {
		return fmt.Errorf("connecting to the phone: %w", err)
	}
	defer session.Close()
	logger.Info("connected to the phone", "revision", session.Revision())

	rp, err := webauthn.New(&webauthn.Config{
		RPID:          o.rpID,
		RPDisplayName: o.rpID,
		RPOrigins:     []string{"https://" + o.rpID},
	})
	if err != nil {
		return fmt.Errorf("setting up the relying party: %w", err)
	}
	b := &hybridBrowser{client: ctap2.NewClient(session), origin: "https://" + o.rpID}
	user := &hybridUser{id: []byte(o.user), name: o.user}
	if err := b.register(ctx, rp, user, &out); err != nil {
		return err
	}
	if err := b.signIn(ctx, rp, user, &out); err != nil {
		return err
	}
	if err := o.link.saveDesktop(session, o.rpID, user); err != nil {
		return err
	}
	if err := session.Close(); err != nil {
		logger.Warn("closing the tunnel", "error", err)
	}
	if o.json {
		enc := json.NewEncoder(stdout)
		return enc.Encode(out)
	}
	fmt.Fprintf(stdout, "registered: credential %s, attestation %s\n", out.CredentialID, out.AttestationFormat)
	fmt.Fprintf(stdout, "signed in: signature verified, sign count %d\n", out.SignCount)
	return nil
}

// hybridUser is the account the relying party registers.
type hybridUser struct {
	id    []byte
	name  string
	creds []webauthn.Credential
}

func (u *hybridUser) WebAuthnID() []byte                         { return u.id }
func (u *hybridUser) WebAuthnName() string                       { return u.name }
func (u *hybridUser) WebAuthnDisplayName() string                { return u.name }
func (u *hybridUser) WebAuthnCredentials() []webauthn.Credential { return u.creds }

// hybridBrowser is the small WebAuthn client of softkey hybrid qr: it
// turns the relying party's options into CTAP2 requests (WebAuthn L3
// §5.1.3, §5.1.4.1) and the answers into the JSON a page posts back.
type hybridBrowser struct {
	client *ctap2.Client
	origin string
}

var rawURL64 = base64.RawURLEncoding

// clientData returns clientDataJSON (WebAuthn L3 §5.8.1).
func (b *hybridBrowser) clientData(typ string, challenge []byte) ([]byte, error) {
	return json.Marshal(struct {
		Type        string `json:"type"`
		Challenge   string `json:"challenge"`
		Origin      string `json:"origin"`
		CrossOrigin bool   `json:"crossOrigin"`
	}{typ, rawURL64.EncodeToString(challenge), b.origin, false})
}

// creationOptions is the part of PublicKeyCredentialCreationOptionsJSON
// the browser uses.
type creationOptions struct {
	PublicKey struct {
		Challenge string `json:"challenge"`
		RP        struct {
			ID   string `json:"id"`
			Name string `json:"name"`
		} `json:"rp"`
		User struct {
			ID          string `json:"id"`
			Name        string `json:"name"`
			DisplayName string `json:"displayName"`
		} `json:"user"`
		PubKeyCredParams []struct {
			Type string    `json:"type"`
			Alg  ctap2.Alg `json:"alg"`
		} `json:"pubKeyCredParams"`
	} `json:"publicKey"`
}

func (b *hybridBrowser) register(ctx context.Context, rp *webauthn.WebAuthn, user *hybridUser, out *hybridOutcome) error {
	creation, session, err := rp.BeginRegistration(user, webauthn.WithConveyancePreference(protocol.PreferDirectAttestation))
	if err != nil {
		return fmt.Errorf("starting registration: %w", err)
	}
	optionsJSON, err := json.Marshal(creation)
	if err != nil {
		return fmt.Errorf("starting registration: %w", err)
	}
	var opts creationOptions
	if err := json.Unmarshal(optionsJSON, &opts); err != nil {
		return fmt.Errorf("reading creation options: %w", err)
	}
	o := opts.PublicKey
	challenge, err := rawURL64.DecodeString(o.Challenge)
	if err != nil {
		return fmt.Errorf("reading creation options: challenge: %w", err)
	}
	userID, err := rawURL64.DecodeString(o.User.ID)
	if err != nil {
		return fmt.Errorf("reading creation options: user ID: %w", err)
	}
	clientData, err := b.clientData("webauthn.create", challenge)
	if err != nil {
		return err
	}
	hash := sha256.Sum256(clientData)
	req := &ctap2.MakeCredentialRequest{
		ClientDataHash: hash[:],
		RP:             &ctap2.RPEntity{ID: o.RP.ID, Name: o.RP.Name},
		User:           &ctap2.UserEntity{ID: userID, Name: o.User.Name, DisplayName: o.User.DisplayName},
	}
	for _, p := range o.PubKeyCredParams {
		req.PubKeyCredParams = append(req.PubKeyCredParams, ctap2.CredentialParam{Type: p.Type, Alg: p.Alg})
	}
	resp, err := b.client.MakeCredential(ctx, req)
	if err != nil {
		return fmt.Errorf("registering through the phone: %w", err)
	}
	authData, err := ctap2.ParseAuthData(resp.AuthData)
	if err != nil || authData.Attested == nil {
		return fmt.Errorf("registering through the phone: authenticator data without a credential: %v", err)
	}
	attObj, err := ctap2.Marshal(struct {
		Format   string           `cbor:"fmt"`
		AttStmt  ctap2.RawMessage `cbor:"attStmt"`
		AuthData []byte           `cbor:"authData"`
	}{resp.Format, resp.AttStmt, resp.AuthData})
	if err != nil {
		return fmt.Errorf("encoding the attestation object: %w", err)
	}
	credID := rawURL64.EncodeToString(authData.Attested.CredentialID)
	body, err := json.Marshal(map[string]any{
		"id": credID, "rawId": credID, "type": "public-key",
		"authenticatorAttachment": "cross-platform",
		"clientExtensionResults":  map[string]any{},
		"response": map[string]any{
			"clientDataJSON":    rawURL64.EncodeToString(clientData),
			"attestationObject": rawURL64.EncodeToString(attObj),
			"transports":        []string{"hybrid"},
		},
	})
	if err != nil {
		return fmt.Errorf("encoding the registration: %w", err)
	}
	parsed, err := protocol.ParseCredentialCreationResponseBody(bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("the relying party could not parse the registration: %w", err)
	}
	cred, err := rp.CreateCredential(user, *session, parsed)
	if err != nil {
		return fmt.Errorf("the relying party refused the registration: %w", describeWebAuthnError(err))
	}
	user.creds = append(user.creds, *cred)
	out.CredentialID, out.AttestationFormat, out.Registered = credID, resp.Format, true
	return nil
}

func (b *hybridBrowser) signIn(ctx context.Context, rp *webauthn.WebAuthn, user *hybridUser, out *hybridOutcome) error {
	assertion, session, err := rp.BeginLogin(user)
	if err != nil {
		return fmt.Errorf("starting sign-in: %w", err)
	}
	challenge := []byte(assertion.Response.Challenge)
	clientData, err := b.clientData("webauthn.get", challenge)
	if err != nil {
		return err
	}
	hash := sha256.Sum256(clientData)
	req := &ctap2.GetAssertionRequest{RPID: assertion.Response.RelyingPartyID, ClientDataHash: hash[:]}
	for _, c := range assertion.Response.AllowedCredentials {
		req.AllowList = append(req.AllowList, ctap2.CredentialDescriptor{Type: string(c.Type), ID: c.CredentialID})
	}
	resp, err := b.client.GetAssertion(ctx, req)
	if err != nil {
		return fmt.Errorf("signing in through the phone: %w", err)
	}
	credID := resp.Credential.ID
	if credID == nil && len(req.AllowList) == 1 {
		credID = req.AllowList[0].ID
	}
	r := map[string]any{
		"clientDataJSON":    rawURL64.EncodeToString(clientData),
		"authenticatorData": rawURL64.EncodeToString(resp.AuthData),
		"signature":         rawURL64.EncodeToString(resp.Signature),
	}
	if resp.User != nil {
		r["userHandle"] = rawURL64.EncodeToString(resp.User.ID)
	}
	id := rawURL64.EncodeToString(credID)
	body, err := json.Marshal(map[string]any{
		"id": id, "rawId": id, "type": "public-key",
		"authenticatorAttachment": "cross-platform",
		"clientExtensionResults":  map[string]any{},
		"response":                r,
	})
	if err != nil {
		return fmt.Errorf("encoding the assertion: %w", err)
	}
	httpReq := httptest.NewRequest(http.MethodPost, b.origin+"/login", bytes.NewReader(body))
	httpReq.Header.Set("Content-Type", "application/json")
	cred, err := rp.FinishLogin(user, *session, httpReq)
	if err != nil {
		return fmt.Errorf("the relying party refused the assertion: %w", describeWebAuthnError(err))
	}
	out.SignatureVerified, out.SignCount = true, cred.Authenticator.SignCount
	return nil
}

// describeWebAuthnError adds go-webauthn's details to its error.
func describeWebAuthnError(err error) error {
	var perr *protocol.Error
	if errors.As(err, &perr) && (perr.Details != "" || perr.DevInfo != "") {
		return fmt.Errorf("%w (%s; %s)", err, perr.Details, perr.DevInfo)
	}
	return err
}

type hybridPhoneOptions struct {
	tunnel     string
	advert     string
	advertAddr string
	engineFlags
	profile  string
	attest   attestationFlags
	timeout  time.Duration
	logLevel string
	qrImage  string
	link     hybridLinkOptions
}

func newHybridPhoneCommand() *cobra.Command {
	var o hybridPhoneOptions
	cmd := &cobra.Command{
		Use:   "phone {URI | --qr-image FILE}",
		Short: "Play the phone: answer a hybrid QR code with softkey's engine",
		Long: `Play the phone (the authenticator) of a hybrid sign-in.

softkey reads the FIDO:/ URI of the desktop's QR code, opens a tunnel on
the tunnel server (--tunnel stands in for the domain it advertises),
advertises on the advert channel (--advert-addr, UDP on loopback), answers
the desktop's handshake and serves its CTAP requests from the engine, with
the chosen profile and vault, until the desktop shuts the tunnel down.`,
		Example: `  softkey hybrid phone 'FIDO:/…' --tunnel ws://127.0.0.1:8112 --memory --presence auto
  softkey hybrid phone --qr-image code.png --tunnel ws://127.0.0.1:8112 --memory --presence auto`,
		Args: usageArgs(o.link.phoneArgs(hybridPhoneArgs(&o.qrImage))),
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.link.linked {
				return runHybridPhone(cmd.Context(), &o, "", cmd.ErrOrStderr())
			}
			uri, err := hybridPhoneURI(o.qrImage, args)
			if err != nil {
				return err
			}
			return runHybridPhone(cmd.Context(), &o, uri, cmd.ErrOrStderr())
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.tunnel, "tunnel", "", "tunnel server `URL` standing in for the advertised domain (default: cable.ua5v.com)")
	f.StringVar(&o.advertAddr, "advert-addr", advert.DefaultAddr, "UDP `address` to send adverts to")
	addAdvertFlag(f, &o.advert)
	f.StringVar(&o.qrImage, "qr-image", "", "read the URI from the QR code in a PNG or JPEG image `FILE`")
	o.link.addPhoneFlags(f)
	addEngineFlags(cmd, &o.engineFlags)
	f.StringVar(&o.profile, "profile", "", profileFlagUsage)
	addAttestationFlags(f, &o.attest)
	f.DurationVar(&o.timeout, "timeout", 5*time.Minute, "how long the whole transaction may take")
	f.StringVar(&o.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	return cmd
}

func runHybridPhone(ctx context.Context, o *hybridPhoneOptions, uri string, stderr io.Writer) error {
	logger, err := newLogger(stderr, o.logLevel)
	if err != nil {
		return err
	}
	var qr *hybrid.QR // none with --linked
	if !o.link.linked {
		if qr, err = hybrid.ParseURI(strings.TrimSpace(uri)); err != nil {
			return withHints(err, "pass the FIDO:/ URI that softkey hybrid qr prints, quoted")
		}
	}
	resolve, err := tunnelResolver(o.tunnel)
	if err != nil {
		return err
	}
	key, err := o.attest.setup(o.profile)
	if err != nil {
		return err
	}
	auth, _, stopEngine, err := startEngine(o.engineFlags, key, logger)
	if err != nil {
		return err
	}
	defer stopEngine()

	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	advertiser, err := advertAdvertiser(o.advert, o.advertAddr)
	if err != nil {
		return err
	}
	phone := &hybrid.Phone{
		Handler:    auth.HandleCBOR,
		Advertiser: advertiser,
		Resolve:    resolve,
		Logger:     logger,
	}
	logger.Info("phone ready", "advert", o.advert, "advert-addr", o.advertAddr)
	return o.link.servePhone(ctx, phone, qr, resolve, logger)
}
