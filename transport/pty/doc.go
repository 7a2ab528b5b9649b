// Package pty exposes CTAPHID reports on a pseudo-terminal that libfido2
// (fido2-token, fido2-cred, fido2-assert, OpenSSH), keys-pub/go-libfido2
// and python-fido2's Linux connection open by path as if it were a hidraw
// node.
//
// libfido2 opens the path, fails the HID descriptor ioctls and falls back
// to 64-byte reports: it writes each report as 65 bytes (a 0x00 report ID,
// then the report) and reads exactly 64 bytes per report. The slave is
// therefore in raw mode with VMIN=64 and VTIME=0, so that a read on it
// wakes only once a whole report is queued, and the [Wire] keeps its own
// slave descriptor open so that those settings last and the master never
// sees a hangup when a client closes.
//
// Only Linux is supported; elsewhere Open fails.
package pty
