package tunnel

import (
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// Kind says which endpoint a request path names.
type Kind uint8

const (
	// KindNew is GET /cable/new/<tunnel ID>: the phone opens a tunnel
	// (QR flow).
	KindNew Kind = iota + 1
	// KindConnect is GET /cable/connect/<routing ID>/<tunnel ID>: the
	// second party joins a tunnel the first one opened.
	KindConnect
	// KindContact is GET /cable/contact/<contact ID>: a desktop reaches a
	// linked phone (state-assisted flow).
	KindContact
)

func (k Kind) String() string {
	switch k {
	case KindNew:
		return "new"
	case KindConnect:
		return "connect"
	case KindContact:
		return "contact"
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// Sizes of the identifiers in request paths (hybrid-cable.md §5.2).
const (
	TunnelIDSize  = 16
	RoutingIDSize = 3
	// MaxContactIDSize bounds the decoded contact ID. Chromium does not
	// document one; contact IDs it stores are well under this.
	MaxContactIDSize = 512
	maxPathLen       = len("/cable/contact/") + (MaxContactIDSize*4+2)/3
)

// Route is a parsed tunnel-server request path.
type Route struct {
	Kind      Kind
	TunnelID  [TunnelIDSize]byte  // KindNew, KindConnect
	RoutingID [RoutingIDSize]byte // KindConnect
	ContactID []byte              // KindContact
}

// Path returns the canonical request path of r: upper-case hex, as
// Chromium writes it, and unpadded base64url for contact IDs.
func (r Route) Path() string {
	switch r.Kind {
	case KindNew:
		return "/cable/new/" + upperHex(r.TunnelID[:])
	case KindConnect:
		return "/cable/connect/" + upperHex(r.RoutingID[:]) + "/" + upperHex(r.TunnelID[:])
	case KindContact:
		return "/cable/contact/" + base64.RawURLEncoding.EncodeToString(r.ContactID)
	}
	return ""
}

func upperHex(b []byte) string { return strings.ToUpper(hex.EncodeToString(b)) }

// ErrBadPath is wrapped by every error ParseTunnelPath returns.
var ErrBadPath = errors.New("tunnel: not a tunnel path")

// ParseTunnelPath parses the escaped path of a tunnel-server request
// (hybrid-cable.md §5.2, §9.1): /cable/new/<32 hex>,
// /cable/connect/<6 hex>/<32 hex> or /cable/contact/<base64url>. Hex may
// be either case; base64url must be unpadded and canonical. Anything else
// (extra or empty segments, a trailing slash, wrong lengths, percent
// escapes, a query) is rejected.
func ParseTunnelPath(path string) (Route, error) {
	if len(path) > maxPathLen {
		return Route{}, fmt.Errorf("%w: path of %d bytes", ErrBadPath, len(path))
	}
	rest, ok := strings.CutPrefix(path, "/cable/")
	if !ok {
		return Route{}, fmt.Errorf("%w: no /cable/ prefix", ErrBadPath)
	}
	parts := strings.Split(rest, "/")
	var r Route
	switch {
	case parts[0] == "new" && len(parts) == 2:
		r.Kind = KindNew
		if err := decodeHex(r.TunnelID[:], parts[1], "tunnel ID"); err != nil {
			return Route{}, err
		}
	case parts[0] == "connect" && len(parts) == 3:
		r.Kind = KindConnect
		if err := decodeHex(r.RoutingID[:], parts[1], "routing ID"); err != nil {
			return Route{}, err
		}
		if err := decodeHex(r.TunnelID[:], parts[2], "tunnel ID"); err != nil {
			return Route{}, err
		}
	case parts[0] == "contact" && len(parts) == 2:
		r.Kind = KindContact
		id, err := base64.RawURLEncoding.Strict().DecodeString(parts[1])
		if err != nil || len(id) == 0 || len(id) > MaxContactIDSize {
			return Route{}, fmt.Errorf("%w: contact ID is not 1 to %d bytes of unpadded base64url", ErrBadPath, MaxContactIDSize)
		}
		r.ContactID = id
	default:
		return Route{}, fmt.Errorf("%w: unknown endpoint or wrong number of segments", ErrBadPath)
	}
	return r, nil
}

// decodeHex decodes exactly len(dst) bytes of hex from s, in either case.
func decodeHex(dst []byte, s, what string) error {
	if len(s) != 2*len(dst) {
		return fmt.Errorf("%w: %s is not %d hex digits", ErrBadPath, what, 2*len(dst))
	}
	if _, err := hex.Decode(dst, []byte(s)); err != nil {
		return fmt.Errorf("%w: %s is not %d hex digits", ErrBadPath, what, 2*len(dst))
	}
	return nil
}
