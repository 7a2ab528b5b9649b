// Package webauthntest is a test helper: a WebAuthn client (the
// "browser") that stands between a relying party and an authenticator in
// tests.
//
// A [Browser] reads the relying party's options JSON, builds
// clientDataJSON (WebAuthn L3 §5.8.1), sends authenticatorMakeCredential,
// authenticatorGetAssertion and authenticatorGetNextAssertion (CTAP 2.1
// §6.1 to §6.3) through any func(ctx, msg []byte) ([]byte, error), such as
// the CBOR method of a [ctap2.Transport] or [InProcess] around an engine,
// and turns the answers into the JSON a browser's toJSON() gives a page:
// [Registration.JSON] with an attestation object in WebAuthn's text keys
// ([AttestationObject]) and [Assertion.JSON]. The browser uses nothing of
// the relying party's library, so that the two sides of a test stay
// independent.
//
// For the relying party side, [Metadata] builds a go-webauthn metadata
// provider with one entry, and [Describe] renders go-webauthn's errors for
// failure messages.
//
// It is not meant for production use.
package webauthntest
