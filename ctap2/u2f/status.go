package u2f

import "fmt"

// StatusWord is the two-byte status (SW1 SW2) that ends every response APDU
// (ISO/IEC 7816-4 §5.1.3, FIDO U2F Raw Message Formats §3.3). It doubles as
// an error: parsers and handlers return it wrapped with context, and the
// caller recovers it with errors.As to answer with it.
type StatusWord uint16

// Status words, FIDO U2F Raw Message Formats §3.3.
const (
	SWNoError                StatusWord = 0x9000 // command completed successfully
	SWConditionsNotSatisfied StatusWord = 0x6985 // user presence required (test-of-user-presence)
	SWWrongData              StatusWord = 0x6A80 // bad key handle
	SWWrongLength            StatusWord = 0x6700 // request length is invalid
	SWInsNotSupported        StatusWord = 0x6D00 // INS not supported
	SWClaNotSupported        StatusWord = 0x6E00 // CLA not supported
)

// name returns the specification's name for sw, or "" if it has none here.
func (sw StatusWord) name() string {
	switch sw {
	case SWNoError:
		return "SW_NO_ERROR"
	case SWConditionsNotSatisfied:
		return "SW_CONDITIONS_NOT_SATISFIED"
	case SWWrongData:
		return "SW_WRONG_DATA"
	case SWWrongLength:
		return "SW_WRONG_LENGTH"
	case SWInsNotSupported:
		return "SW_INS_NOT_SUPPORTED"
	case SWClaNotSupported:
		return "SW_CLA_NOT_SUPPORTED"
	}
	return ""
}

// Error returns the specification's name and the code in hex, for example
// "SW_WRONG_LENGTH (0x6700)", or "status word 0x6F00" for other codes.
func (sw StatusWord) Error() string {
	if n := sw.name(); n != "" {
		return fmt.Sprintf("%s (0x%04X)", n, uint16(sw))
	}
	return fmt.Sprintf("status word 0x%04X", uint16(sw))
}
