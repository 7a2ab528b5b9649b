package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/softkeydev/softkey/ctap2"
	"github.com/softkeydev/softkey/transport/ctaphid"
	"github.com/softkeydev/softkey/transport/udp"
)

type infoOptions struct {
	transport string
	device    string
	udpAddr   string
	json      bool
	timeout   time.Duration
}

func newInfoCommand() *cobra.Command {
	var o infoOptions
	cmd := &cobra.Command{
		Use:   "info",
		Short: "Ask a key for its getInfo and print it",
		Long: `Connect to a key as a host (CTAPHID INIT, then authenticatorGetInfo) and
print what it reports: versions, extensions, AAGUID, options, size limits and
algorithms. The key may be softkey or any CTAPHID device that can be opened
by path (a pseudo-terminal from softkey run, or a hidraw node), or a key on UDP.`,
		Example: `  softkey info --device /dev/pts/3
  softkey info --udp 127.0.0.1:8111 --json
  softkey info --device /dev/hidraw0`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cmd.Flags().Changed("udp") {
				if cmd.Flags().Changed("transport") && o.transport != "udp" {
					return flagError(cmd, fmt.Errorf("--udp and --transport %s contradict each other", o.transport))
				}
				o.transport = "udp"
			}
			switch o.transport {
			case "pty":
				if o.device == "" {
					return flagError(cmd, fmt.Errorf("--device is required with --transport pty"))
				}
			case "udp":
				if o.device != "" {
					return flagError(cmd, fmt.Errorf("--device is for --transport pty; use --udp ADDR"))
				}
			default:
				return flagError(cmd, fmt.Errorf("--transport must be pty or udp, not %q", o.transport))
			}
			return runInfo(cmd.Context(), &o, cmd.OutOrStdout())
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.transport, "transport", "pty", "how to reach the key: pty (a device path) or udp")
	f.StringVar(&o.device, "device", "", "device `path`, such as /dev/pts/3 or /dev/hidraw0")
	f.StringVar(&o.udpAddr, "udp", udp.DefaultAddr, "UDP `address` of the key (implies --transport udp)")
	f.BoolVar(&o.json, "json", false, "print JSON")
	f.DurationVar(&o.timeout, "timeout", 10*time.Second, "give up after this long")
	return cmd
}

func runInfo(ctx context.Context, o *infoOptions, w io.Writer) error {
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	dev, where, err := openHostDevice(ctx, o.transport, o.device, o.udpAddr)
	if err != nil {
		return err
	}
	defer dev.Close()
	info, err := ctap2.NewClient(dev).GetInfo(ctx)
	if err != nil {
		return withHints(fmt.Errorf("getInfo from %s: %w", where, err),
			"is softkey run (or another key) serving there? Its ready line says where")
	}
	out := newInfoJSON(info)
	out.CTAPHID = newCTAPHIDJSON(dev.Info())
	if o.json {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	return printInfo(w, out)
}

// infoJSON is getInfo as `softkey info --json` prints it; the field names
// are a stable interface.
type infoJSON struct {
	Versions                 []string        `json:"versions"`
	Extensions               []string        `json:"extensions"`
	AAGUID                   string          `json:"aaguid"`
	Options                  map[string]bool `json:"options"`
	MaxMsgSize               uint64          `json:"max_msg_size,omitempty"`
	PinUVAuthProtocols       []uint64        `json:"pin_uv_auth_protocols,omitempty"`
	MaxCredentialCountInList uint64          `json:"max_credential_count_in_list,omitempty"`
	MaxCredentialIDLength    uint64          `json:"max_credential_id_length,omitempty"`
	Transports               []string        `json:"transports,omitempty"`
	Algorithms               []algJSON       `json:"algorithms,omitempty"`
	FirmwareVersion          uint64          `json:"firmware_version,omitempty"`
	RemainingDiscoverable    *uint64         `json:"remaining_discoverable_credentials,omitempty"`
	AttestationFormats       []string        `json:"attestation_formats,omitempty"`
	CTAPHID                  ctaphidJSON     `json:"ctaphid"`
}

// ctaphidJSON is what the device said in its CTAPHID_INIT answer.
type ctaphidJSON struct {
	Protocol     uint8    `json:"protocol"`
	Version      string   `json:"version"`
	Capabilities []string `json:"capabilities"`
}

func newCTAPHIDJSON(info ctaphid.Info) ctaphidJSON {
	out := ctaphidJSON{
		Protocol:     info.Protocol,
		Version:      fmt.Sprintf("%d.%d.%d", info.Version[0], info.Version[1], info.Version[2]),
		Capabilities: []string{},
	}
	if info.Capabilities&ctaphid.CapWink != 0 {
		out.Capabilities = append(out.Capabilities, "wink")
	}
	if info.Capabilities&ctaphid.CapCBOR != 0 {
		out.Capabilities = append(out.Capabilities, "cbor")
	}
	if info.Capabilities&ctaphid.CapNMSG == 0 {
		out.Capabilities = append(out.Capabilities, "msg")
	}
	return out
}

type algJSON struct {
	Type string `json:"type"`
	Alg  int64  `json:"alg"`
	Name string `json:"name"`
}

func newInfoJSON(info *ctap2.GetInfoResponse) infoJSON {
	out := infoJSON{
		Versions:                 nonNil(info.Versions),
		Extensions:               nonNil(info.Extensions),
		AAGUID:                   formatAAGUID(info.AAGUID),
		Options:                  info.Options,
		MaxMsgSize:               info.MaxMsgSize,
		PinUVAuthProtocols:       info.PinUvAuthProtocols,
		MaxCredentialCountInList: info.MaxCredentialCountInList,
		MaxCredentialIDLength:    info.MaxCredentialIDLength,
		Transports:               info.Transports,
		FirmwareVersion:          info.FirmwareVersion,
		RemainingDiscoverable:    info.RemainingDiscoverableCredentials,
		AttestationFormats:       info.AttestationFormats,
	}
	if out.Options == nil {
		out.Options = map[string]bool{}
	}
	for _, a := range info.Algorithms {
		out.Algorithms = append(out.Algorithms, algJSON{Type: a.Type, Alg: int64(a.Alg), Name: a.Alg.String()})
	}
	return out
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// formatAAGUID writes a 16-byte AAGUID as a UUID, anything else in hex.
func formatAAGUID(b []byte) string {
	h := hex.EncodeToString(b)
	if len(b) != 16 {
		return h
	}
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

func printInfo(w io.Writer, info infoJSON) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	row := func(name, value string) { fmt.Fprintf(tw, "%s:\t%s\n", name, value) }
	list := func(s []string) string {
		if len(s) == 0 {
			return "(none)"
		}
		return strings.Join(s, ", ")
	}
	num := func(n uint64) string {
		if n == 0 {
			return "(not reported)"
		}
		return fmt.Sprint(n)
	}

	row("versions", list(info.Versions))
	row("extensions", list(info.Extensions))
	row("aaguid", info.AAGUID)
	var opts []string
	for _, k := range slices.Sorted(maps.Keys(info.Options)) {
		opts = append(opts, fmt.Sprintf("%s=%t", k, info.Options[k]))
	}
	row("options", list(opts))
	row("max message size", num(info.MaxMsgSize))
	row("max credentials in list", num(info.MaxCredentialCountInList))
	row("max credential ID length", num(info.MaxCredentialIDLength))
	var algs []string
	for _, a := range info.Algorithms {
		algs = append(algs, fmt.Sprintf("%s (%d)", a.Name, a.Alg))
	}
	row("algorithms", list(algs))
	row("transports", list(info.Transports))
	var protos []string
	for _, p := range info.PinUVAuthProtocols {
		protos = append(protos, fmt.Sprint(p))
	}
	row("pin/uv auth protocols", list(protos))
	if info.RemainingDiscoverable != nil {
		row("remaining discoverable credentials", fmt.Sprint(*info.RemainingDiscoverable))
	}
	if len(info.AttestationFormats) > 0 {
		row("attestation formats", list(info.AttestationFormats))
	}
	row("firmware version", num(info.FirmwareVersion))
	row("ctaphid", fmt.Sprintf("protocol %d, device version %s, capabilities %s",
		info.CTAPHID.Protocol, info.CTAPHID.Version, list(info.CTAPHID.Capabilities)))
	return tw.Flush()
}
