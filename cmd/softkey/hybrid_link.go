package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"

	"github.com/go-webauthn/webauthn/webauthn"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/softkeydev/softkey/ctap2"
	"github.com/softkeydev/softkey/transport/hybrid"
	"github.com/softkeydev/softkey/transport/hybrid/tunnel"
)

// Linking (hybrid-cable.md §7.4, §7.5) on the command line.
//
// A real linked phone is woken by its platform's push service when a
// desktop hits /cable/contact/. softkey's stand-in is local and not part
// of caBLE: softkey hybrid phone --serve-linked holds the tunnel server's
// /softkey/contact-listen/<contact ID> WebSocket open (see
// tunnel.ContactListenPrefix), and the server tells it about each
// contact.

// hybridLinkOptions are the linking flags of softkey hybrid qr and phone.
type hybridLinkOptions struct {
	state  string // --link-state FILE
	linked bool   // --linked: no QR code
	serve  bool   // --serve-linked (phone)
}

func (o *hybridLinkOptions) addQRFlags(f *pflag.FlagSet) {
	f.StringVar(&o.state, "link-state", "", "ask the phone to link and keep what it sends, with the credential, in this `FILE` (0600); with --linked, read it")
	f.BoolVar(&o.linked, "linked", false, "sign in again through the phone linked in --link-state, without a QR code")
}

func (o *hybridLinkOptions) addPhoneFlags(f *pflag.FlagSet) {
	f.StringVar(&o.state, "link-state", "", "offer linking to desktops that ask, keeping the phone's link secret and contact ID in this `FILE` (0600; made on first use)")
	f.BoolVar(&o.serve, "serve-linked", false, "after the QR transaction, wait for linked desktops (through the tunnel server's softkey-local contact listener) until --timeout or Ctrl-C")
	f.BoolVar(&o.linked, "linked", false, "skip the QR code: only wait for linked desktops (implies --serve-linked; no URI)")
}

// phoneArgs lets softkey hybrid phone --linked go without a URI.
func (o *hybridLinkOptions) phoneArgs(inner cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if !o.linked {
			return inner(cmd, args)
		}
		if len(args) > 0 {
			return errors.New("--linked takes no URI: the desktop reaches the phone through the tunnel server")
		}
		return nil
	}
}

// writeStateFile replaces path with data, readable by the owner only.
func writeStateFile(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	defer os.Remove(tmp.Name()) // fails harmlessly once renamed
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

// phoneLinkState is the --link-state file of softkey hybrid phone: what
// hybrid.PhoneLink needs to answer linked desktops later. The root secret
// derives every link secret and the identity key, so the file is 0600.
type phoneLinkState struct {
	RootSecret []byte `json:"rootSecret"`
	ContactID  []byte `json:"contactId"`
	Name       string `json:"name"`
}

// contactIDSize is the size of the contact IDs softkey phones make.
const contactIDSize = 16

// loadPhoneLink reads the phone's link state, or makes a new one (fresh)
// if path does not exist yet.
func loadPhoneLink(path string) (link *hybrid.PhoneLink, fresh bool, err error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		link = &hybrid.PhoneLink{ContactID: make([]byte, contactIDSize), Name: "softkey"}
		if _, err := rand.Read(link.RootSecret[:]); err != nil {
			return nil, false, fmt.Errorf("making the link secret: %w", err)
		}
		if _, err := rand.Read(link.ContactID); err != nil {
			return nil, false, fmt.Errorf("making the contact ID: %w", err)
		}
		return link, true, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("reading the link state: %w", err)
	}
	var st phoneLinkState
	if err := json.Unmarshal(b, &st); err != nil || len(st.RootSecret) != 32 || len(st.ContactID) == 0 {
		return nil, false, withHints(fmt.Errorf("%s is not a phone's link state (%v)", path, err),
			"pass the --link-state file softkey hybrid phone wrote, or a new path")
	}
	link = &hybrid.PhoneLink{ContactID: st.ContactID, Name: st.Name}
	copy(link.RootSecret[:], st.RootSecret)
	return link, false, nil
}

func savePhoneLink(path string, link *hybrid.PhoneLink) error {
	b, err := json.MarshalIndent(phoneLinkState{RootSecret: link.RootSecret[:], ContactID: link.ContactID, Name: link.Name}, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding the link state: %w", err)
	}
	return writeStateFile(path, b)
}

// servePhone runs softkey hybrid phone once the engine is up: the QR
// transaction (unless --linked), then, with --serve-linked or --linked,
// every linked desktop the tunnel server reports until ctx ends.
func (o *hybridLinkOptions) servePhone(ctx context.Context, phone *hybrid.Phone, qr *hybrid.QR, resolve hybrid.Resolver, logger *slog.Logger) error {
	listen := o.linked || o.serve
	if o.state == "" {
		if listen {
			return withHints(errors.New("--linked and --serve-linked need --link-state"),
				"pass --link-state FILE; the phone keeps its link secret there")
		}
		return servePhoneQR(ctx, phone, qr, logger)
	}
	link, fresh, err := loadPhoneLink(o.state)
	if err != nil {
		return err
	}
	phone.Link = link
	var contacts *tunnel.ContactListener
	if listen {
		if resolve == nil {
			return withHints(errors.New("waiting for linked desktops needs a local tunnel server"),
				"pass --tunnel ws://…: real phones are woken by a push service, softkey's stand-in lives in softkey tunnel serve")
		}
		base, err := resolve(0)
		if err != nil {
			return err
		}
		// Listen before the QR transaction, so that a desktop that links
		// and at once comes back finds the phone.
		if contacts, err = tunnel.ListenContacts(ctx, base, link.ContactID, tunnel.DialOptions{}); err != nil {
			return withHints(fmt.Errorf("listening for linked desktops: %w", err),
				"HTTP 409: another softkey hybrid phone serves this --link-state already")
		}
		defer contacts.Close()
		logger.Info("listening for linked desktops", "contact", base64.RawURLEncoding.EncodeToString(link.ContactID))
	}
	if qr != nil {
		if qr.SupportsLinking && fresh {
			// The phone is about to send linking information: keep what
			// answers it later.
			if err := savePhoneLink(o.state, link); err != nil {
				return err
			}
			logger.Info("link state saved", "file", o.state)
		}
		if err := servePhoneQR(ctx, phone, qr, logger); err != nil {
			return err
		}
	}
	if contacts == nil {
		return nil
	}
	for {
		req, err := contacts.Next(ctx)
		if err != nil {
			if ctx.Err() != nil {
				logger.Info("stopped waiting for linked desktops", "reason", context.Cause(ctx))
				return nil
			}
			return withHints(fmt.Errorf("waiting for linked desktops: %w", err), "is softkey tunnel serve still running?")
		}
		logger.Info("a linked desktop is calling")
		if err := phone.ServeLinked(ctx, req); err != nil {
			if ctx.Err() != nil {
				return err
			}
			logger.Warn("serving a linked desktop", "error", err)
			continue
		}
		logger.Info("a linked desktop shut the tunnel down")
	}
}

func servePhoneQR(ctx context.Context, phone *hybrid.Phone, qr *hybrid.QR, logger *slog.Logger) error {
	logger.Info("advertising")
	if err := phone.Serve(ctx, qr); err != nil {
		return err
	}
	logger.Info("the desktop shut the tunnel down")
	return nil
}

// desktopLinkState is the --link-state file of softkey hybrid qr: the
// verified linking information the phone sent, and the relying party's
// record of the account, so that a later --linked run can verify the
// assertion. The link secret is in it, so the file is 0600.
type desktopLinkState struct {
	Linking     *hybrid.LinkingInfo   `json:"linking"`
	RPID        string                `json:"rpId"`
	UserID      []byte                `json:"userId"`
	UserName    string                `json:"userName"`
	Credentials []webauthn.Credential `json:"credentials"`
}

// saveDesktop keeps the linking information of session, if --link-state.
func (o *hybridLinkOptions) saveDesktop(session *hybrid.Session, rpID string, user *hybridUser) error {
	if o.state == "" {
		return nil
	}
	l := session.Linking()
	if l == nil {
		return withHints(errors.New("the phone sent no linking information"),
			"start softkey hybrid phone with --link-state FILE so that it offers linking")
	}
	b, err := json.MarshalIndent(desktopLinkState{Linking: l, RPID: rpID, UserID: user.id, UserName: user.name, Credentials: user.creds}, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding the link state: %w", err)
	}
	return writeStateFile(o.state, b)
}

// runHybridLinked signs in again through the linked phone, without a QR
// code (hybrid-cable.md §7.5), against the account in the link state.
func (o *hybridLinkOptions) runHybridLinked(ctx context.Context, q *hybridQROptions, resolve hybrid.Resolver, logger *slog.Logger, stdout io.Writer) error {
	if o.state == "" {
		return withHints(errors.New("--linked needs --link-state"), "pass the --link-state FILE of an earlier softkey hybrid qr run")
	}
	b, err := os.ReadFile(o.state)
	if err != nil {
		return withHints(fmt.Errorf("reading the link state: %w", err),
			"run softkey hybrid qr --link-state FILE first, with a phone started with --link-state")
	}
	var st desktopLinkState
	if err := json.Unmarshal(b, &st); err != nil || st.Linking == nil || len(st.Credentials) == 0 {
		return withHints(fmt.Errorf("%s is not a desktop's link state (%v)", o.state, err),
			"pass the --link-state file softkey hybrid qr wrote")
	}
	scanner, closeScanner, err := advertScanner(q.advert, q.advertAddr, logger)
	if err != nil {
		return err
	}
	desktop, err := hybrid.NewDesktop(hybrid.DesktopConfig{Scanner: scanner, Resolve: resolve, Logger: logger})
	if err != nil {
		closeScanner()
		return err
	}
	session, err := desktop.ConnectLinked(ctx, st.Linking, hybrid.GetAssertion)
	if err != nil {
		var de *tunnel.DialError
		if errors.As(err, &de) && de.StatusCode == http.StatusGone {
			return withHints(fmt.Errorf("reaching the linked phone: %w", err),
				"no phone listens for this link: start softkey hybrid phone --linked --link-state FILE with the phone's file, or link again with a QR code")
		}
		return fmt.Errorf("reaching the linked phone: %w", err)
	}
	defer session.Close()
	logger.Info("connected to the linked phone", "name", st.Linking.Name, "revision", session.Revision())

	rp, err := webauthn.New(&webauthn.Config{RPID: st.RPID, RPDisplayName: st.RPID, RPOrigins: []string{"https://" + st.RPID}})
	if err != nil {
		return fmt.Errorf("setting up the relying party: %w", err)
	}
	browser := &hybridBrowser{client: ctap2.NewClient(session), origin: "https://" + st.RPID}
	user := &hybridUser{id: st.UserID, name: st.UserName, creds: st.Credentials}
	out := hybridOutcome{Linked: true, CredentialID: rawURL64.EncodeToString(st.Credentials[0].ID)}
	if err := browser.signIn(ctx, rp, user, &out); err != nil {
		return withHints(err, "the phone must still hold the credential: a phone restarted with --memory has lost it, use --vault")
	}
	if err := session.Close(); err != nil {
		logger.Warn("closing the tunnel", "error", err)
	}
	if q.json {
		return json.NewEncoder(stdout).Encode(out)
	}
	fmt.Fprintf(stdout, "signed in through the linked phone %q, no QR code: signature verified, sign count %d\n", st.Linking.Name, out.SignCount)
	return nil
}
