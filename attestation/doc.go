// Package attestation builds WebAuthn attestation statements and the
// certificates behind them.
//
// Everything here is a pure function of its arguments: randomness and time
// are passed in, and there is no package state. Signatures are deterministic
// (RFC 6979 for ECDSA), so a seeded run reproduces byte for byte.
//
// # Formats
//
//   - [None]: the "none" format, WebAuthn L3 §8.7.
//   - [Self]: "packed" self attestation, signed by the credential key,
//     WebAuthn L3 §8.2.
//   - [Packed]: "packed" full (basic) attestation with an x5c chain,
//     WebAuthn L3 §8.2.
//   - [U2FRegisterSignature]: the attestation signature of a U2F
//     registration, FIDO U2F Raw Message Formats §4.3, which the
//     "fido-u2f" format (WebAuthn L3 §8.6) carries unchanged.
//
// # Batch attestation
//
// [NewBatch] issues a root CA, an intermediate CA and a batch (leaf)
// certificate that meets every rule of WebAuthn L3 §8.2.1 for packed
// attestation certificates; [ParseBatch] loads a stored one.
//
// [Sign] is the one place that turns a [crypto.Signer] and a COSE algorithm
// into a signature in the encoding WebAuthn expects; assertions reuse it.
package attestation
