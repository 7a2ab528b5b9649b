package ctap2

import "fmt"

// Command is a CTAP2 command byte (CTAP 2.1 §6 "Authenticator API").
type Command uint8

// Command bytes, CTAP 2.1 §6 and §8.1 (prototype commands in §6.13 and §6.8 notes).
const (
	CmdMakeCredential          Command = 0x01
	CmdGetAssertion            Command = 0x02
	CmdGetInfo                 Command = 0x04
	CmdClientPIN               Command = 0x06
	CmdReset                   Command = 0x07
	CmdGetNextAssertion        Command = 0x08
	CmdBioEnrollment           Command = 0x09
	CmdCredentialManagement    Command = 0x0A
	CmdSelection               Command = 0x0B
	CmdLargeBlobs              Command = 0x0C
	CmdConfig                  Command = 0x0D
	CmdBioEnrollmentPre        Command = 0x40
	CmdCredentialManagementPre Command = 0x41
)

var commandNames = map[Command]string{
	CmdMakeCredential:          "authenticatorMakeCredential",
	CmdGetAssertion:            "authenticatorGetAssertion",
	CmdGetInfo:                 "authenticatorGetInfo",
	CmdClientPIN:               "authenticatorClientPIN",
	CmdReset:                   "authenticatorReset",
	CmdGetNextAssertion:        "authenticatorGetNextAssertion",
	CmdBioEnrollment:           "authenticatorBioEnrollment",
	CmdCredentialManagement:    "authenticatorCredentialManagement",
	CmdSelection:               "authenticatorSelection",
	CmdLargeBlobs:              "authenticatorLargeBlobs",
	CmdConfig:                  "authenticatorConfig",
	CmdBioEnrollmentPre:        "authenticatorBioEnrollment (prototype)",
	CmdCredentialManagementPre: "authenticatorCredentialManagement (prototype)",
}

func (c Command) String() string {
	if name, ok := commandNames[c]; ok {
		return name
	}
	return fmt.Sprintf("command 0x%02X", uint8(c))
}
