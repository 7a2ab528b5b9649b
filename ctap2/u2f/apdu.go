// Package u2f encodes and decodes FIDO U2F (CTAP1) raw messages: the
// ISO/IEC 7816-4 command and response APDUs that CTAPHID_MSG carries.
//
// The authenticator side uses [ParseCommand], [ParseRegisterRequest],
// [ParseAuthenticateRequest], [RegisterResponse], [AuthenticateResponse]
// and [WithStatus]; the host side uses [EncodeCommand], [SplitStatus],
// [ParseRegisterResponse] and [ParseAuthenticateResponse].
//
// References are to "FIDO U2F Raw Message Formats" v1.2 (2017) and
// ISO/IEC 7816-4:2013 §5.1. The package stands alone: it knows nothing of
// CTAP2, keys or certificates beyond their byte layout.
package u2f

import (
	"bytes"
	"encoding/binary"
	"fmt"
)

// Command is a command APDU (ISO/IEC 7816-4 §5.1).
type Command struct {
	CLA, INS, P1, P2 byte
	// Data is the command data field, nil when there is none.
	Data []byte
	// Le is Ne, the most response bytes the host accepts: 0 when the Le
	// field is absent, 1 to 256 in short form, 1 to 65536 in extended form
	// (an Le field of zero means 256, or 65536 when extended).
	Le int
}

// Instruction bytes, FIDO U2F Raw Message Formats §3.1.
const (
	InsRegister     byte = 0x01 // U2F_REGISTER, §4
	InsAuthenticate byte = 0x02 // U2F_AUTHENTICATE, §5
	InsVersion      byte = 0x03 // U2F_VERSION, §6
)

// P1 values of U2F_AUTHENTICATE, FIDO U2F Raw Message Formats §5.1.
const (
	CheckOnly           byte = 0x07 // check-only: is the key handle ours?
	EnforceUserPresence byte = 0x03 // enforce-user-presence-and-sign
	DontEnforce         byte = 0x08 // dont-enforce-user-presence-and-sign
)

// Version is the answer to U2F_VERSION (FIDO U2F Raw Message Formats §6.1).
const Version = "U2F_V2"

// Field sizes of ISO/IEC 7816-4 §5.1.
const (
	headerSize     = 4     // CLA INS P1 P2
	maxShortLc     = 255   // Nc in short form
	maxShortNe     = 256   // Ne in short form (Le 0x00)
	maxExtendedLc  = 65535 // Nc in extended form
	maxExtendedNe  = 65536 // Ne in extended form (Le 0x0000)
	extendedMarker = 0x00  // first body byte of an extended-length APDU
)

// ParseCommand decodes a command APDU in any of the ISO/IEC 7816-4 §5.1
// cases, short or extended (FIDO U2F Raw Message Formats §3.1 allows both):
//
//	case 1:   header
//	case 2S:  header Le
//	case 3S:  header Lc(1..255) data
//	case 4S:  header Lc data Le
//	case 2E:  header 00 Le1 Le2
//	case 3E:  header 00 Lc1 Lc2 data
//	case 4E:  header 00 Lc1 Lc2 data Le1 Le2
//
// An extended APDU with Lc = 0000 followed by a two-byte Le is accepted as
// case 2E, because python-fido2 encodes commands without data that way.
//
// Errors wrap the status word to answer with: [SWClaNotSupported] when CLA
// is not 0, [SWInsNotSupported] for an instruction other than register,
// authenticate and version, and [SWWrongLength] when the lengths do not
// add up. Data is a copy; apdu is not retained.
func ParseCommand(apdu []byte) (*Command, error) {
	if len(apdu) < headerSize {
		return nil, fmt.Errorf("parsing APDU: %d bytes is shorter than the header: %w", len(apdu), SWWrongLength)
	}
	cmd := &Command{CLA: apdu[0], INS: apdu[1], P1: apdu[2], P2: apdu[3]}
	if cmd.CLA != 0 {
		return nil, fmt.Errorf("parsing APDU: class 0x%02X: %w", cmd.CLA, SWClaNotSupported)
	}
	switch cmd.INS {
	case InsRegister, InsAuthenticate, InsVersion:
	default:
		return nil, fmt.Errorf("parsing APDU: instruction 0x%02X: %w", cmd.INS, SWInsNotSupported)
	}
	body := apdu[headerSize:]
	switch {
	case len(body) == 0: // case 1
	case len(body) == 1: // case 2S
		cmd.Le = shortNe(body[0])
	case body[0] != extendedMarker: // case 3S or 4S
		lc := int(body[0])
		rest := body[1:]
		switch len(rest) {
		case lc:
		case lc + 1:
			cmd.Le = shortNe(rest[lc])
		default:
			return nil, fmt.Errorf("parsing APDU: Lc %d with %d bytes after it: %w", lc, len(rest), SWWrongLength)
		}
		cmd.Data = bytes.Clone(rest[:lc])
	case len(body) == 3: // case 2E
		cmd.Le = extendedNe(body[1:])
	case len(body) < 3:
		return nil, fmt.Errorf("parsing APDU: truncated extended length field: %w", SWWrongLength)
	default: // case 3E or 4E
		lc := int(binary.BigEndian.Uint16(body[1:3]))
		rest := body[3:]
		switch len(rest) {
		case lc:
		case lc + 2:
			cmd.Le = extendedNe(rest[lc:])
		default:
			return nil, fmt.Errorf("parsing APDU: extended Lc %d with %d bytes after it: %w", lc, len(rest), SWWrongLength)
		}
		if lc > 0 {
			cmd.Data = bytes.Clone(rest[:lc])
		}
	}
	return cmd, nil
}

// shortNe decodes a one-byte Le field.
func shortNe(le byte) int {
	if le == 0 {
		return maxShortNe
	}
	return int(le)
}

// extendedNe decodes a two-byte Le field.
func extendedNe(le []byte) int {
	if n := int(binary.BigEndian.Uint16(le)); n != 0 {
		return n
	}
	return maxExtendedNe
}

// EncodeCommand encodes cmd as a command APDU (ISO/IEC 7816-4 §5.1), in
// short form or, if extended is set, in extended form as CTAPHID hosts
// normally send (FIDO U2F Raw Message Formats §3.1.2). A command with
// neither data nor Le is case 1 in both forms. It fails if the data or Le
// do not fit the chosen form.
func EncodeCommand(cmd Command, extended bool) ([]byte, error) {
	maxLc, maxNe := maxShortLc, maxShortNe
	if extended {
		maxLc, maxNe = maxExtendedLc, maxExtendedNe
	}
	if len(cmd.Data) > maxLc {
		return nil, fmt.Errorf("encoding APDU: %d bytes of data do not fit Lc (at most %d)", len(cmd.Data), maxLc)
	}
	if cmd.Le < 0 || cmd.Le > maxNe {
		return nil, fmt.Errorf("encoding APDU: Le %d is outside 0 to %d", cmd.Le, maxNe)
	}
	out := make([]byte, 0, headerSize+3+len(cmd.Data)+2)
	out = append(out, cmd.CLA, cmd.INS, cmd.P1, cmd.P2)
	if !extended {
		if len(cmd.Data) > 0 {
			out = append(out, byte(len(cmd.Data)))
			out = append(out, cmd.Data...)
		}
		if cmd.Le > 0 {
			out = append(out, byte(cmd.Le)) // 256 wraps to 0x00
		}
		return out, nil
	}
	if len(cmd.Data) > 0 {
		out = append(out, extendedMarker)
		out = binary.BigEndian.AppendUint16(out, uint16(len(cmd.Data)))
		out = append(out, cmd.Data...)
		if cmd.Le > 0 {
			out = binary.BigEndian.AppendUint16(out, uint16(cmd.Le)) // 65536 wraps to 0x0000
		}
		return out, nil
	}
	if cmd.Le > 0 {
		out = append(out, extendedMarker)
		out = binary.BigEndian.AppendUint16(out, uint16(cmd.Le))
	}
	return out, nil
}
