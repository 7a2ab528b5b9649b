package main

import (
	"bytes"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/softkeydev/softkey/transport/hybrid"
)

// Vectors of hybrid-cable.md §10.3.
const (
	decodeVectorURI    = "FIDO:/507534658874902144890520810253271960412876791035912279736227586515506461231345404432305085311340208920070633618515609790059716415128245800265340480783106107096654083332"
	decodeVectorSecret = "101112131415161718191a1b1c1d1e1f"
	decodeVectorAdvert = "37ec303b42aa1fbfec0ee31e37a36d64d651a4f6"
)

// runHybridDecode runs "softkey hybrid ARGS..." as softkeyMain does, with
// the decode command under a "hybrid" command, whether or not the root
// command registers it yet.
func runHybridDecode(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	root := newRootCommand()
	if c, _, err := root.Find([]string{"hybrid", "decode"}); err != nil || c.Name() != "decode" {
		hybrid, _, err := root.Find([]string{"hybrid"})
		if err != nil || hybrid == root {
			hybrid = &cobra.Command{Use: "hybrid", Args: usageArgs(cobra.NoArgs)}
			root.AddCommand(hybrid)
		}
		hybrid.AddCommand(newHybridDecodeCommand())
	}
	var out, errOut bytes.Buffer
	root.SetArgs(append([]string{"hybrid"}, args...))
	root.SetOut(&out)
	root.SetErr(&errOut)
	if err := root.ExecuteContext(t.Context()); err != nil {
		printError(&errOut, err)
		code = 1
	}
	return out.String(), errOut.String(), code
}

func TestHybridDecode(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{
			name: "QR text",
			args: []string{"decode", decodeVectorURI},
			want: `public_key        0250b46f369e1407bfad0838fdfc30a1d69e369c97dc6163a3648b878e8ce51863
secret            101112131415161718191a1b1c1d1e1f
known_domains     2
timestamp         2023-11-14T22:13:20Z
supports_linking  true
request_type      ga
`,
		},
		{
			name: "QR JSON",
			args: []string{"decode", "--json", strings.ToLower(decodeVectorURI)},
			want: `{
  "public_key": "0250b46f369e1407bfad0838fdfc30a1d69e369c97dc6163a3648b878e8ce51863",
  "secret": "101112131415161718191a1b1c1d1e1f",
  "known_domains": 2,
  "timestamp": "2023-11-14T22:13:20Z",
  "supports_linking": true,
  "request_type": "ga"
}
`,
		},
		{
			name: "advert text",
			args: []string{"decode", "--advert", decodeVectorAdvert, "--qr-secret", decodeVectorSecret},
			want: `nonce        a0a1a2a3a4a5a6a7a8a9
routing_id   010203
domain_id    0
domain       cable.ua5v.com
tunnel_id    1a909a4708fd664d4c3afa7be11896ef
connect_url  wss://cable.ua5v.com/cable/connect/010203/1A909A4708FD664D4C3AFA7BE11896EF
`,
		},
		{
			name: "advert JSON, upper-case hex",
			args: []string{"decode", "--json", "--advert", strings.ToUpper(decodeVectorAdvert), "--qr-secret", strings.ToUpper(decodeVectorSecret)},
			want: `{
  "nonce": "a0a1a2a3a4a5a6a7a8a9",
  "routing_id": "010203",
  "domain_id": 0,
  "domain": "cable.ua5v.com",
  "tunnel_id": "1a909a4708fd664d4c3afa7be11896ef",
  "connect_url": "wss://cable.ua5v.com/cable/connect/010203/1A909A4708FD664D4C3AFA7BE11896EF"
}
`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			stdout, stderr, code := runHybridDecode(t, tc.args...)
			if code != 0 || stderr != "" {
				t.Fatalf("softkey hybrid %s: exit %d, stderr:\n%s", strings.Join(tc.args, " "), code, stderr)
			}
			if stdout != tc.want {
				t.Errorf("softkey hybrid %s: stdout\n%s\nwant\n%s", strings.Join(tc.args, " "), stdout, tc.want)
			}
		})
	}
}

func TestHybridDecodeErrors(t *testing.T) {
	// The §10.3 advert with its last byte changed fails the tag check.
	tampered := decodeVectorAdvert[:38] + "f7"
	tests := []struct {
		name string
		args []string
		want string // stderr, exactly
	}{
		{
			name: "nothing",
			args: []string{"decode"},
			want: "softkey: error: nothing to decode: pass a FIDO:/ URI or --advert and --qr-secret\nhint: run 'softkey hybrid decode --help' for usage\n",
		},
		{
			name: "URI and advert",
			args: []string{"decode", decodeVectorURI, "--advert", decodeVectorAdvert},
			want: "softkey: error: pass either a URI or --advert and --qr-secret, not both\nhint: run 'softkey hybrid decode --help' for usage\n",
		},
		{
			name: "two URIs",
			args: []string{"decode", decodeVectorURI, decodeVectorURI},
			want: "softkey: error: accepts at most 1 arg(s), received 2\nhint: run 'softkey hybrid decode --help' for usage\n",
		},
		{
			name: "advert without secret",
			args: []string{"decode", "--advert", decodeVectorAdvert},
			want: "softkey: error: --advert needs --qr-secret\nhint: 'softkey hybrid decode URI' prints the secret of a QR code\n",
		},
		{
			name: "secret without advert",
			args: []string{"decode", "--qr-secret", decodeVectorSecret},
			want: "softkey: error: --qr-secret needs --advert\nhint: run 'softkey hybrid decode --help' for usage\n",
		},
		{
			name: "bad URI",
			args: []string{"decode", "FIDO:/999"},
			want: "softkey: error: parsing the QR code: hybrid: invalid QR code: invalid hybrid digit encoding: group \"999\" at offset 0 exceeds 1 bytes\nhint: a hybrid QR code reads FIDO:/ followed by digits; quote it in the shell\n",
		},
		{
			name: "not a FIDO URI",
			args: []string{"decode", "https://example.com"},
			want: "softkey: error: parsing the QR code: hybrid: invalid QR code: URI does not start with \"FIDO:/\"\nhint: a hybrid QR code reads FIDO:/ followed by digits; quote it in the shell\n",
		},
		{
			name: "bad advert hex",
			args: []string{"decode", "--advert", "zz", "--qr-secret", decodeVectorSecret},
			want: "softkey: error: decoding --advert: encoding/hex: invalid byte: U+007A 'z'\nhint: --advert takes 20 bytes as 40 hex digits\n",
		},
		{
			name: "odd advert hex",
			args: []string{"decode", "--advert", decodeVectorAdvert[:39], "--qr-secret", decodeVectorSecret},
			want: "softkey: error: decoding --advert: encoding/hex: odd length hex string\nhint: --advert takes 20 bytes as 40 hex digits\n",
		},
		{
			name: "short advert",
			args: []string{"decode", "--advert", decodeVectorAdvert[:38], "--qr-secret", decodeVectorSecret},
			want: "softkey: error: --advert is 19 bytes, want 20\nhint: --advert takes 20 bytes as 40 hex digits\n",
		},
		{
			name: "long advert",
			args: []string{"decode", "--advert", decodeVectorAdvert + "00", "--qr-secret", decodeVectorSecret},
			want: "softkey: error: --advert is 21 bytes, want 20\nhint: --advert takes 20 bytes as 40 hex digits\n",
		},
		{
			name: "bad secret hex",
			args: []string{"decode", "--advert", decodeVectorAdvert, "--qr-secret", "xyz"},
			want: "softkey: error: decoding --qr-secret: encoding/hex: invalid byte: U+0078 'x'\nhint: --qr-secret takes 16 bytes as 32 hex digits\n",
		},
		{
			name: "long secret",
			args: []string{"decode", "--advert", decodeVectorAdvert, "--qr-secret", decodeVectorSecret + "20"},
			want: "softkey: error: --qr-secret is 17 bytes, want 16\nhint: --qr-secret takes 16 bytes as 32 hex digits\n",
		},
		{
			name: "wrong secret",
			args: []string{"decode", "--advert", decodeVectorAdvert, "--qr-secret", strings.Repeat("00", 16)},
			want: "softkey: error: advert does not decrypt with this secret\nhint: the advert and the QR secret must come from the same transaction\nhint: 'softkey hybrid decode URI' prints the secret of a QR code\n",
		},
		{
			name: "tampered advert",
			args: []string{"decode", "--advert", tampered, "--qr-secret", decodeVectorSecret},
			want: "softkey: error: advert does not decrypt with this secret\nhint: the advert and the QR secret must come from the same transaction\nhint: 'softkey hybrid decode URI' prints the secret of a QR code\n",
		},
	}
	// Adverts that authenticate but hold an unusable EID (§4.3 steps 4, 5).
	secret, err := hex.DecodeString(decodeVectorSecret)
	if err != nil {
		t.Fatal(err)
	}
	eidKey := hybrid.DeriveEIDKey(secret, nil)
	unassigned := hybrid.EncryptAdvert(&eidKey, hybrid.EID{DomainID: 2})
	tests = append(tests, struct {
		name string
		args []string
		want string
	}{
		name: "unassigned domain",
		args: []string{"decode", "--advert", hex.EncodeToString(unassigned[:]), "--qr-secret", decodeVectorSecret},
		want: "softkey: error: decrypting the advert: hybrid: invalid advert: unassigned tunnel server domain 2\nhint: the advert matches this secret, but its reserved byte or tunnel server domain ID is invalid\n",
	})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			stdout, stderr, code := runHybridDecode(t, tc.args...)
			if code != 1 {
				t.Errorf("softkey hybrid %s: exit %d, want 1", strings.Join(tc.args, " "), code)
			}
			if stdout != "" {
				t.Errorf("softkey hybrid %s: stdout %q, want none", strings.Join(tc.args, " "), stdout)
			}
			if stderr != tc.want {
				t.Errorf("softkey hybrid %s: stderr\n%s\nwant\n%s", strings.Join(tc.args, " "), stderr, tc.want)
			}
		})
	}
}

// TestHybridDecodeHashedDomain decodes an advert naming a hashed tunnel
// server domain (§5.1 vector 266).
func TestHybridDecodeHashedDomain(t *testing.T) {
	secret, err := hex.DecodeString(decodeVectorSecret)
	if err != nil {
		t.Fatal(err)
	}
	eidKey := hybrid.DeriveEIDKey(secret, nil)
	advert := hybrid.EncryptAdvert(&eidKey, hybrid.EID{
		Nonce:     [10]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10},
		RoutingID: [3]byte{0xab, 0xcd, 0xef},
		DomainID:  266,
	})
	args := []string{"decode", "--advert", hex.EncodeToString(advert[:]), "--qr-secret", decodeVectorSecret}
	want := `nonce        0102030405060708090a
routing_id   abcdef
domain_id    266
domain       cable.wufkweyy3uaxb.com
tunnel_id    1a909a4708fd664d4c3afa7be11896ef
connect_url  wss://cable.wufkweyy3uaxb.com/cable/connect/ABCDEF/1A909A4708FD664D4C3AFA7BE11896EF
`
	stdout, stderr, code := runHybridDecode(t, args...)
	if code != 0 || stderr != "" {
		t.Fatalf("softkey hybrid %s: exit %d, stderr:\n%s", strings.Join(args, " "), code, stderr)
	}
	if stdout != want {
		t.Errorf("softkey hybrid %s: stdout\n%s\nwant\n%s", strings.Join(args, " "), stdout, want)
	}
}

// TestHybridDecodeMinimalQR decodes a QR code without the optional keys:
// no timestamp line, an empty request type.
func TestHybridDecodeMinimalQR(t *testing.T) {
	q, err := hybrid.ParseURI(decodeVectorURI)
	if err != nil {
		t.Fatal(err)
	}
	minimal := hybrid.QR{PublicKey: q.PublicKey, Secret: q.Secret}
	tests := []struct {
		args []string
		want string
	}{
		{
			args: []string{"decode", minimal.URI()},
			want: `public_key        0250b46f369e1407bfad0838fdfc30a1d69e369c97dc6163a3648b878e8ce51863
secret            101112131415161718191a1b1c1d1e1f
known_domains     0
supports_linking  false
`,
		},
		{
			args: []string{"decode", "--json", minimal.URI()},
			want: `{
  "public_key": "0250b46f369e1407bfad0838fdfc30a1d69e369c97dc6163a3648b878e8ce51863",
  "secret": "101112131415161718191a1b1c1d1e1f",
  "known_domains": 0,
  "supports_linking": false,
  "request_type": ""
}
`,
		},
	}
	for _, tc := range tests {
		stdout, stderr, code := runHybridDecode(t, tc.args...)
		if code != 0 || stderr != "" {
			t.Fatalf("softkey hybrid %s: exit %d, stderr:\n%s", strings.Join(tc.args, " "), code, stderr)
		}
		if stdout != tc.want {
			t.Errorf("softkey hybrid %s: stdout\n%s\nwant\n%s", strings.Join(tc.args, " "), stdout, tc.want)
		}
	}
}
