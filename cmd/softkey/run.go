package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"

	"github.com/softkeydev/softkey/authenticator"
	"github.com/softkeydev/softkey/transport/ctaphid"
	"github.com/softkeydev/softkey/transport/pty"
	"github.com/softkeydev/softkey/transport/udp"
	"github.com/softkeydev/softkey/transport/uhid"
)

type runOptions struct {
	transport   string
	listen      string
	engineFlags // --memory, --vault, --presence...: engine.go
	profile     string
	attest      attestationFlags // --attestation, --ca, --negative: profile_flags.go
	readyFile   string
	logLevel    string
	pin         string   // --pin
	pinFile     string   // --pin-file
	control     string   // --control
	profileSets []string // --profile-set

	// testOnlyUHIDPath replaces /dev/uhid, for tests.
	testOnlyUHIDPath string
}

func newRunCommand() *cobra.Command {
	var o runOptions
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Start a security key and serve it until interrupted",
		Long: `Start a security key and serve it until interrupted (SIGINT or SIGTERM).

The key is plugged in through Linux's uhid (--transport uhid): the kernel
sees a USB security key, which browsers, OpenSSH, libfido2 and
systemd-cryptenroll find by themselves on a /dev/hidrawN node. It can also
be reached on a pseudo-terminal (--transport pty), which libfido2's tools,
OpenSSH and go-libfido2 open by path as if it were a hidraw device, or on
UDP (--transport udp), one 64-byte HID report per datagram, answered to the
sender; a 64-byte reboot datagram power-cycles it. Without --transport,
softkey uses uhid on Linux when /dev/uhid is writable, else the
pseudo-terminal, and logs which and why.

Once it serves, softkey prints where, for example

  ready: uhid /dev/hidraw3
  ready: pty /dev/pts/3
  ready: udp 127.0.0.1:8111

and with --ready-file writes the same as JSON, {"transport":"pty","path":"/dev/pts/3"},
{"transport":"uhid","path":"/dev/hidraw3","name":"softkey"}
or {"transport":"udp","addr":"127.0.0.1:8111"}, atomically, and removes the file
when it stops. (Should the hidraw node not show within 3s, the uhid line
names the device instead: ready: uhid softkey.)

The uhid device's name, serial number and USB vendor and product IDs come
from the profile's usb section. Without a serial there, the key gets one
derived from its vault directory, or a random one with --memory.

Discoverable credentials, device secrets and signature counters live in the
vault directory (default $XDG_DATA_HOME/softkey, or ~/.local/share/softkey),
encrypted under a key derived from $SOFTKEY_VAULT_PASSPHRASE, from a
passphrase typed at the terminal (--passphrase-prompt), or else from a key
file that softkey creates beside the vault. --memory keeps everything in
memory instead, for tests.

User presence (the touch) is approved by the person at the terminal
(--presence prompt, the default), always (auto) or never (deny).

--pin gives a key without a PIN its first PIN, as a platform would with
clientPIN setPIN, so that tests start from a key with a known PIN. It is
also read from the first line of --pin-file, or from $SOFTKEY_PIN, which
keep it out of the process list. A key that already has a PIN keeps it
(checking would cost one of its PIN retries): softkey logs that --pin was
ignored, so the same command line can restart a test key.

A running key takes orders on its control socket: softkey uv next
pass|fail decides its built-in user verification (profiles with uv: true)
and softkey power-cycle replugs it. The socket is control.sock in the
vault directory, or --control PATH; a key in memory has one only with
--control. Its path is in the ready file as "control".`,
		Example: `  # a key that asks before every touch: a USB key through uhid where
  # /dev/uhid is writable, else a pseudo-terminal
  softkey run

  # a key for tests: UDP on a free port, in memory, every touch approved
  softkey run --transport udp --listen 127.0.0.1:0 --memory --presence auto --ready-file /tmp/key.json

  # a key with the PIN 1234 and a fingerprint sensor (bio.yaml says
  # uv: true and bio_enroll: true) whose next match fails
  softkey run --profile bio.yaml --vault /tmp/vault --pin 1234
  softkey uv next fail --vault /tmp/vault     # from another terminal

  # log every CTAPHID frame
  softkey run --log-level debug`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cmd.Flags().Changed("listen") && o.transport != "udp" {
				return flagError(cmd, errors.New("--listen needs --transport udp"))
			}
			return runKey(cmd.Context(), &o, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.transport, "transport", "", "where the key is served: uhid, pty or udp (default uhid if /dev/uhid is writable, else pty)")
	f.StringVar(&o.listen, "listen", udp.DefaultAddr, "UDP address to listen on, with --transport udp (port 0 picks a free one)")
	addEngineFlags(cmd, &o.engineFlags)
	f.StringVar(&o.profile, "profile", "", profileFlagUsage)
	addAttestationFlags(f, &o.attest)
	f.StringVar(&o.readyFile, "ready-file", "", "write where the key is served, as JSON, to this `file` once ready")
	f.StringVar(&o.logLevel, "log-level", "info", "log level: debug (every frame), info, warn or error")
	f.StringVar(&o.pin, "pin", "", "set this first `PIN` on a key that has none (default $SOFTKEY_PIN); a key with a PIN keeps it")
	f.StringVar(&o.pinFile, "pin-file", "", "like --pin, with the PIN on the first line of this `file`")
	f.StringVar(&o.control, "control", "", "listen for softkey uv and softkey power-cycle on this Unix `socket` (default control.sock in the vault directory; none for --memory)")
	f.StringArrayVar(&o.profileSets, "profile-set", nil, "change one CTAP 2.1 `field=value` of the profile, as in its YAML (repeatable): uv=true, bio_enroll=true, always_uv=true, pin_uv_auth_protocols=[1]...")
	cmd.MarkFlagsMutuallyExclusive("pin", "pin-file")
	return cmd
}

// readyInfo is the content of --ready-file.
type readyInfo struct {
	Transport string `json:"transport"`
	Path      string `json:"path,omitempty"`
	Addr      string `json:"addr,omitempty"`
	Name      string `json:"name,omitempty"` // uhid: the device's name
	// Control is the control socket (softkey uv, softkey power-cycle).
	Control string `json:"control,omitempty"`
}

func (r readyInfo) where() string {
	switch {
	case r.Path != "":
		return r.Path
	case r.Addr != "":
		return r.Addr
	}
	return r.Name
}

// runKey wires a key together and serves it until ctx is done or a signal
// arrives.
func runKey(ctx context.Context, o *runOptions, stdout, stderr io.Writer) error {
	switch o.transport {
	case "", "uhid", "pty", "udp":
	default:
		return withHints(fmt.Errorf("--transport must be uhid, pty or udp, not %q", o.transport),
			"leave --transport out for uhid where /dev/uhid is writable, else pty")
	}
	logger, err := newLogger(stderr, o.logLevel)
	if err != nil {
		return err
	}

	pin, err := pinFromFlags(o.pin, o.pinFile, os.Getenv)
	if err != nil {
		return err
	}

	key, err := o.attest.setup(o.profile)
	if err != nil {
		return err
	}
	profile := key.profile
	if err := setProfileFields(profile, o.profileSets); err != nil {
		return err
	}

	// The built-in user verification answers as softkey uv tells it;
	// every verification passes until then.
	var uv *authenticator.UVScript
	var verifier authenticator.Verifier
	if profile.UV {
		uv = &authenticator.UVScript{}
		verifier = uv
	}
	// softkey clock advance moves the key's clock forward.
	clock := &keyClock{}
	auth, vaultDir, stopEngine, err := startEngineWith(o.engineFlags, key, verifier, clock.now, logger)
	if err != nil {
		return err
	}
	defer stopEngine()
	if pin != "" {
		if err := setInitialPIN(ctx, auth, pin, logger); err != nil {
			return err
		}
	}
	server := ctaphid.NewServer(ctaphid.Config{
		Handler: auth,
		U2F:     profile.U2F,
		Version: deviceVersion(moduleVersion()),
		Logger:  logger,
	})
	// powerCycle acts as unplugging and replugging the key. The server
	// goes first: it cancels a request in progress (one waiting for a
	// touch, say), which would otherwise hold the engine until it ends.
	powerCycle := func() {
		server.Reset()
		auth.PowerCycle()
	}

	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()

	cs := &controlServer{powerCycle: powerCycle, clock: clock, logger: logger}
	if uv != nil {
		cs.uv = uv
	}
	control, stopControl, err := startControl(ctx, o.control, vaultDir, cs)
	if err != nil {
		return err
	}
	defer stopControl()

	uhidPath := cmp.Or(o.testOnlyUHIDPath, uhid.DefaultPath)
	transport := o.transport
	if transport == "" {
		var reason string
		transport, reason = defaultTransport(runtime.GOOS, uhidPath, canOpenReadWrite)
		logger.Info("transport: "+transport, "reason", reason)
	}

	var (
		wire interface {
			ctaphid.Wire
			Close() error
		}
		ready  readyInfo
		hidraw hidrawIdentity // uhid: how to find the device's hidraw node
	)
	switch transport {
	case "uhid":
		cfg, err := uhidConfig(profile.USB, profile.FirmwareVersion, vaultDir, logger)
		if err != nil {
			return err
		}
		cfg.Path = uhidPath
		w, err := uhid.Open(cfg)
		if err != nil {
			return explainUHIDError(err)
		}
		wire, ready = w, readyInfo{Transport: "uhid", Name: w.Name()}
		hidraw = identityOf(cfg, w.Name())
	case "pty":
		w, err := pty.Open()
		if err != nil {
			return fmt.Errorf("starting pty: %w", err)
		}
		wire, ready = w, readyInfo{Transport: "pty", Path: w.Path()}
	case "udp":
		w, err := udp.Listen(o.listen)
		if err != nil {
			return withHints(fmt.Errorf("starting udp: %w", err),
				"if another key listens there, stop it or pass --listen 127.0.0.1:0 for a free port")
		}
		w.Logger = logger
		// The reboot datagram acts as unplugging and replugging the key.
		w.OnReboot = func() {
			logger.Info("reboot datagram: power cycle")
			powerCycle()
		}
		wire, ready = w, readyInfo{Transport: "udp", Addr: w.Addr().String()}
	}
	defer wire.Close()
	ready.Control = control

	served := make(chan error, 1)
	go func() { served <- server.Serve(ctx, wire) }()

	if transport == "uhid" {
		// The kernel adds the device and its node after Open returns.
		findCtx, cancel := context.WithTimeout(ctx, hidrawWait)
		path, err := findHidraw(findCtx, "/sys", hidraw)
		cancel()
		if err != nil {
			logger.Warn("uhid: no hidraw node for the device yet; clients see it once a HID driver binds it (sudo modprobe hid-generic)",
				"error", err)
		}
		ready.Path = path
	}

	// The ready line first: whoever sees the ready file may read it.
	fmt.Fprintf(stdout, "ready: %s %s\n", ready.Transport, ready.where())
	if o.readyFile != "" {
		if err := writeReadyFile(o.readyFile, ready); err != nil {
			return err
		}
		defer os.Remove(o.readyFile)
	}
	logger.Info("serving", "transport", ready.Transport, "at", ready.where(), "presence", o.presence)

	select {
	case err := <-served:
		if err != nil && ctx.Err() == nil {
			return fmt.Errorf("serving %s: %w", ready.Transport, err)
		}
	case <-ctx.Done():
		stop() // a second signal kills at once
		logger.Info("stopping", "reason", context.Cause(ctx))
		wire.Close() // unblocks a read in progress
		select {
		case <-served:
		case <-time.After(5 * time.Second):
			logger.Warn("the server did not stop within 5s")
		}
	}
	return nil
}

// profileSettable are the profile fields --profile-set changes: the
// CTAP 2.1 block of Profile, from client_pin to max_cred_blob_length (the
// switches a test suite flips, none that attestation depends on).
var profileSettable = func() []string {
	var names []string
	t := reflect.TypeFor[authenticator.Profile]()
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
		if name == "client_pin" || len(names) > 0 {
			names = append(names, name)
		}
		if name == "max_cred_blob_length" {
			break
		}
	}
	return names
}()

// setProfileFields applies --profile-set FIELD=VALUE settings to p, each
// VALUE read as the field's YAML value, and checks the result.
func setProfileFields(p *authenticator.Profile, sets []string) error {
	if len(sets) == 0 {
		return nil
	}
	for _, set := range sets {
		field, value, ok := strings.Cut(set, "=")
		if !ok || value == "" {
			return withHints(fmt.Errorf("--profile-set %q: want FIELD=VALUE", set), "for example --profile-set uv=true")
		}
		if !slices.Contains(profileSettable, field) {
			return withHints(fmt.Errorf("--profile-set: %q is not a field it sets", field),
				"it sets "+strings.Join(profileSettable, ", "),
				"a profile file (--profile FILE.yaml) sets any field")
		}
		dec := yaml.NewDecoder(strings.NewReader(field + ": " + value))
		dec.KnownFields(true)
		if err := dec.Decode(p); err != nil {
			// yaml's errors span lines; one line reads better here.
			return fmt.Errorf("--profile-set %s: %s", set, strings.Join(strings.Fields(err.Error()), " "))
		}
	}
	if err := p.Validate(); err != nil {
		return fmt.Errorf("--profile-set: profile %s: %w", p.Name, err)
	}
	return nil
}

// newLogger returns a text logger to w at the named level.
func newLogger(w io.Writer, level string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level must be debug, info, warn or error, not %q", level)
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l})), nil
}

// writeReadyFile writes info as JSON to path atomically: to a temporary
// file in the same directory, then renamed over path, so a reader never
// sees half a file.
func writeReadyFile(path string, info readyInfo) error {
	data, err := json.Marshal(info)
	if err != nil {
		return fmt.Errorf("writing the ready file: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("writing the ready file: %w", err)
	}
	defer os.Remove(tmp.Name()) // after a successful rename, a no-op
	if _, err := tmp.Write(append(data, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("writing the ready file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing the ready file: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("writing the ready file: %w", err)
	}
	return nil
}

// defaultVaultDir is $XDG_DATA_HOME/softkey, or ~/.local/share/softkey.
func defaultVaultDir() (string, error) {
	if d := os.Getenv("XDG_DATA_HOME"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, "softkey"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", withHints(fmt.Errorf("finding the default vault: %w", err), "pass --vault DIR")
	}
	return filepath.Join(home, ".local", "share", "softkey"), nil
}

// trimHex lowercases s and removes colons and spaces, so IDs can be pasted
// in the forms other tools print.
func trimHex(s string) string {
	return strings.ToLower(strings.NewReplacer(":", "", " ", "").Replace(s))
}
