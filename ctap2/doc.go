// Package ctap2 is the CTAP2 wire model: command and status codes, the
// request and response maps of each command in canonical CTAP2 CBOR
// (integer keys, definite lengths, no tags), COSE keys, authenticator data,
// and a [Client] that speaks CTAP2 and U2F to any device behind a
// [Transport].
//
// # Decoding
//
// Every request decoder refuses duplicate map keys, indefinite lengths,
// tags, trailing bytes and deep nesting, and its errors wrap the [Status]
// an authenticator answers with: [ErrInvalidCBOR] for malformed input,
// [ErrCBORUnexpectedType] for a well-formed item of the wrong type,
// [ErrMissingParameter] for a missing required field.
//
// The normative references are the FIDO Client to Authenticator Protocol
// 2.1 (CTAP 2.1) and WebAuthn Level 3; comments cite their sections.
package ctap2
