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
//   - [FIDOU2F]: the "fido-u2f" format, WebAuthn L3 §8.6, which carries
//     [U2FRegisterSignature], the attestation signature of a U2F
//     registration (FIDO U2F Raw Message Formats §4.3), unchanged.
//   - [TPM]: the "tpm" format, WebAuthn L3 §8.3, built in software: the
//     TPMT_PUBLIC and TPMS_ATTEST structures of TPM 2.0 Part 2 (encoded with
//     go-tpm's tpm2 package) signed by an attestation identity key.
//
// [Formats] lists them, for getInfo's attestationFormats.
//
// # Certificates
//
// [NewCA] issues a test root CA and an intermediate CA. [CA.IssueBatch]
// issues batch certificates that meet every rule of WebAuthn L3 §8.2.1 for
// packed (and fido-u2f) attestation, enterprise attestation certificates
// with id-fido-gen-ce-sernum (CTAP 2.1 §7.1), and, through [BatchOptions],
// certificates that break one rule on purpose for relying parties' negative
// tests. [NewAIK] issues TPM AIK certificates (WebAuthn L3 §8.3.1).
// [NewBatch] is NewCA and IssueBatch in one step; [ParseBatch] loads a
// stored batch. [CA.MarshalPEM], [ParseCAPEM], [Batch.MarshalPEM] and
// [ImportBatch] move them through PEM files; ImportBatch checks a hardware
// team's own batch against every rule before anything uses it.
//
// [Sign] is the one place that turns a [crypto.Signer] and a COSE algorithm
// into a signature in the encoding WebAuthn expects; assertions reuse it.
package attestation
