package main

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/softkeydev/softkey/transport/hybrid"
)

type hybridDecodeOptions struct {
	advert   string
	qrSecret string
	json     bool
}

// newHybridDecodeCommand returns "softkey hybrid decode", which prints the
// fields of a hybrid QR code or of a captured BLE advert.
func newHybridDecodeCommand() *cobra.Command {
	var o hybridDecodeOptions
	cmd := &cobra.Command{
		Use:   "decode [URI]",
		Short: "Print the fields of a hybrid QR code or BLE advert",
		Long: `Print the fields of a hybrid (caBLE v2) QR code or BLE advert, to debug
what a browser shows or a phone broadcasts.

With a FIDO:/ URI it prints the QR code's fields: the client's public key
(compressed P-256 point) and QR secret in hex, the number of known tunnel
server domains, the time the code was made (RFC 3339, UTC; absent if the
code has none), whether the client supports linking, and the request type
("ga", "mc", ...).

With --advert and --qr-secret it decrypts the 20 bytes of BLE service data
a phone advertised (UUID 0xFFF9) with the key derived from the QR secret,
and prints the nonce, routing ID, tunnel server domain ID and name, the
tunnel ID and the URL the client connects to. That URL names the
production tunnel server (wss://DOMAIN); a local one, such as softkey
tunnel serve, takes the same path.

--json prints one JSON object with the same snake_case names as the text
output: public_key, secret, known_domains, timestamp, supports_linking,
request_type; or nonce, routing_id, domain_id, domain, tunnel_id,
connect_url.`,
		Example: `  # the fields of a QR code
  softkey hybrid decode 'FIDO:/5075346588749021...'

  # decrypt a captured advert
  softkey hybrid decode --advert 37ec303b42aa1fbfec0ee31e37a36d64d651a4f6 \
      --qr-secret 101112131415161718191a1b1c1d1e1f --json`,
		Args: usageArgs(cobra.MaximumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			switch {
			case len(args) == 1 && (o.advert != "" || o.qrSecret != ""):
				return flagError(cmd, errors.New("pass either a URI or --advert and --qr-secret, not both"))
			case len(args) == 1:
				return hybridDecodeQR(cmd.OutOrStdout(), args[0], o.json)
			case o.advert == "" && o.qrSecret == "":
				return flagError(cmd, errors.New("nothing to decode: pass a FIDO:/ URI or --advert and --qr-secret"))
			case o.advert == "":
				return flagError(cmd, errors.New("--qr-secret needs --advert"))
			case o.qrSecret == "":
				return withHints(errors.New("--advert needs --qr-secret"),
					"'softkey hybrid decode URI' prints the secret of a QR code")
			}
			return hybridDecodeAdvert(cmd.OutOrStdout(), o.advert, o.qrSecret, o.json)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.advert, "advert", "", "decrypt the 20 bytes of BLE service data in `hex`")
	f.StringVar(&o.qrSecret, "qr-secret", "", "QR secret for --advert, 16 bytes in `hex`")
	f.BoolVar(&o.json, "json", false, "print JSON")
	return cmd
}

// decodedQRJSON is a QR code as `softkey hybrid decode URI --json`
// prints it; the field names are stable. Timestamp is left out if the code
// has none (QR key 3).
type decodedQRJSON struct {
	PublicKey       string `json:"public_key"`
	Secret          string `json:"secret"`
	KnownDomains    uint64 `json:"known_domains"`
	Timestamp       string `json:"timestamp,omitempty"`
	SupportsLinking bool   `json:"supports_linking"`
	RequestType     string `json:"request_type"`
}

// decodedAdvertJSON is a decrypted advert as `softkey hybrid decode
// --advert --json` prints it; the field names are stable.
type decodedAdvertJSON struct {
	Nonce      string `json:"nonce"`
	RoutingID  string `json:"routing_id"`
	DomainID   uint16 `json:"domain_id"`
	Domain     string `json:"domain"`
	TunnelID   string `json:"tunnel_id"`
	ConnectURL string `json:"connect_url"`
}

// hybridDecodeQR prints the fields of the QR code uri.
func hybridDecodeQR(w io.Writer, uri string, asJSON bool) error {
	q, err := hybrid.ParseURI(strings.TrimSpace(uri))
	if err != nil {
		return withHints(fmt.Errorf("parsing the QR code: %w", err),
			"a hybrid QR code reads FIDO:/ followed by digits; quote it in the shell")
	}
	out := decodedQRJSON{
		PublicKey:       hex.EncodeToString(q.PublicKey[:]),
		Secret:          hex.EncodeToString(q.Secret[:]),
		KnownDomains:    q.KnownDomains,
		SupportsLinking: q.SupportsLinking,
		RequestType:     string(q.RequestType),
	}
	if !q.Time.IsZero() {
		out.Timestamp = q.Time.UTC().Format(time.RFC3339)
	}
	if asJSON {
		return writeDecodedJSON(w, out)
	}
	return writeDecodedFields(w, [][2]string{
		{"public_key", out.PublicKey},
		{"secret", out.Secret},
		{"known_domains", strconv.FormatUint(out.KnownDomains, 10)},
		{"timestamp", out.Timestamp},
		{"supports_linking", strconv.FormatBool(out.SupportsLinking)},
		{"request_type", out.RequestType},
	})
}

// hybridDecodeAdvert decrypts the advert advertHex with the EID key
// derived from secretHex (hybrid-cable.md §4.3) and prints its fields, the
// tunnel ID and the client's connect URL (§5.2).
func hybridDecodeAdvert(w io.Writer, advertHex, secretHex string, asJSON bool) error {
	advert, err := hybridDecodeHex("--advert", advertHex, hybrid.AdvertSize)
	if err != nil {
		return err
	}
	secret, err := hybridDecodeHex("--qr-secret", secretHex, hybrid.QRSecretSize)
	if err != nil {
		return err
	}
	eidKey := hybrid.DeriveEIDKey(secret, nil)
	eid, err := hybrid.DecryptAdvert(&eidKey, advert)
	if errors.Is(err, hybrid.ErrAdvertMismatch) {
		return withHints(errors.New("advert does not decrypt with this secret"),
			"the advert and the QR secret must come from the same transaction",
			"'softkey hybrid decode URI' prints the secret of a QR code")
	}
	if err != nil {
		return withHints(fmt.Errorf("decrypting the advert: %w", err),
			"the advert matches this secret, but its reserved byte or tunnel server domain ID is invalid")
	}
	// DecryptAdvert accepts only domain IDs that have a name.
	domain, _ := hybrid.DecodeDomain(eid.DomainID)
	base, _ := hybrid.DomainURL(eid.DomainID)
	tunnelID := hybrid.DeriveTunnelID(secret)
	out := decodedAdvertJSON{
		Nonce:      hex.EncodeToString(eid.Nonce[:]),
		RoutingID:  hex.EncodeToString(eid.RoutingID[:]),
		DomainID:   eid.DomainID,
		Domain:     domain,
		TunnelID:   hex.EncodeToString(tunnelID[:]),
		ConnectURL: hybrid.ConnectURL(base, eid.RoutingID, tunnelID),
	}
	if asJSON {
		return writeDecodedJSON(w, out)
	}
	return writeDecodedFields(w, [][2]string{
		{"nonce", out.Nonce},
		{"routing_id", out.RoutingID},
		{"domain_id", strconv.FormatUint(uint64(out.DomainID), 10)},
		{"domain", out.Domain},
		{"tunnel_id", out.TunnelID},
		{"connect_url", out.ConnectURL},
	})
}

// hybridDecodeHex decodes the hex value of flag, which must be n bytes.
func hybridDecodeHex(flag, s string, n int) ([]byte, error) {
	hint := fmt.Sprintf("%s takes %d bytes as %d hex digits", flag, n, 2*n)
	b, err := hex.DecodeString(strings.TrimSpace(s))
	if err != nil {
		return nil, withHints(fmt.Errorf("decoding %s: %w", flag, err), hint)
	}
	if len(b) != n {
		return nil, withHints(fmt.Errorf("%s is %d bytes, want %d", flag, len(b), n), hint)
	}
	return b, nil
}

// writeDecodedFields writes one "name  value" line per field, values
// aligned; fields with an empty value are left out.
func writeDecodedFields(w io.Writer, fields [][2]string) error {
	width := 0
	for _, f := range fields {
		width = max(width, len(f[0]))
	}
	var sb strings.Builder
	for _, f := range fields {
		if f[1] == "" {
			continue
		}
		fmt.Fprintf(&sb, "%-*s  %s\n", width, f[0], f[1])
	}
	if _, err := io.WriteString(w, sb.String()); err != nil {
		return fmt.Errorf("writing output: %w", err)
	}
	return nil
}

// writeDecodedJSON writes v as indented JSON.
func writeDecodedJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("writing JSON: %w", err)
	}
	return nil
}
