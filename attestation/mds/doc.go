// Package mds mints FIDO Metadata Service BLOBs (FIDO Metadata Service
// v3.0), so that a relying party under test can be given metadata that
// trusts softkey's test attestation CA, or that reports a model as revoked,
// compromised or certified.
//
// # Format
//
// A BLOB is a JWT in JWS compact serialization (MDS 3.0 §3.1.7, Metadata
// BLOB): base64url(header) "." base64url(payload) "." base64url(signature).
// The header names the algorithm (always ES256 here) and carries the signing
// certificate chain in x5c; the payload is the Metadata BLOB Payload
// dictionary (§3.1.6): legalHeader, a serial number no, nextUpdate and one
// entry per authenticator model (§3.1.1), each with its Metadata Statement
// (FIDO Metadata Statement v3.0 §4) and status reports (§3.1.3).
//
// # Trust
//
// A relying party verifies the BLOB against a trust anchor it is configured
// with (the MDS root) and then trusts each model's attestation certificates
// up to the statement's attestationRootCertificates. Both roots here are
// test roots: nothing minted by this package is issued by the FIDO Alliance,
// and [LegalHeader] says so in every BLOB.
//
// The package has no state and no clock: every input, including dates, is
// given by the caller, and an ECDSA private key signs deterministically
// (RFC 6979), so the same inputs give the same BLOB byte for byte.
package mds
