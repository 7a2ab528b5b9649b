"""Check a softkey's attestation with Debian's python3-fido2 0.9.1.

Usage: /usr/bin/python3 python_attestation.py HOST:PORT BLOB ROOT.pem

The key runs with softkey run --transport udp --ca DIR; BLOB and ROOT.pem
come from softkey mds export -o BLOB --root-out ROOT.pem. The script

  1. verifies the BLOB's JWS: its x5c chains to the root, and the ES256
     signature (r||s) verifies with the signing certificate's key;
  2. makes a credential (CTAP2 makeCredential) and verifies the attestation
     statement with python-fido2's verifier for its format;
  3. finds the model's entry in the BLOB, by AAGUID or, for a zero AAGUID
     (fido-u2f), by the attestation certificate's key identifier, and
     chains the attestation to the root through the entry's
     attestationRootCertificates.

python-fido2 0.9.1 has no MDS3 support of its own (fido2.mds3 came in 1.0),
so the BLOB is read here with the cryptography package it depends on.

Prints one "ok: ..." line per step. On failure it prints "FAIL: ..." with
the traceback on stderr and exits 1.
"""

import base64
import hashlib
import json
import os
import sys
import traceback
import uuid

from cryptography import x509
from cryptography.hazmat.backends import default_backend
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.hazmat.primitives.serialization import Encoding
from fido2.attestation import Attestation, verify_x509_chain
from fido2.ctap2 import Ctap2

from python_udp import open_device


def b64url(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def load_root(path):
    with open(path, "rb") as f:
        cert = x509.load_pem_x509_certificate(f.read(), default_backend())
    return cert.public_bytes(Encoding.DER)


def verify_blob(path, root):
    with open(path) as f:
        header, payload, sig = f.read().strip().split(".")
    h = json.loads(b64url(header))
    if h.get("alg") != "ES256":
        raise AssertionError("BLOB alg %r, want ES256" % h.get("alg"))
    chain = [base64.b64decode(c) for c in h["x5c"]]
    if chain[-1] != root:
        chain.append(root)
    verify_x509_chain(chain)
    signer = x509.load_der_x509_certificate(chain[0], default_backend())
    raw = b64url(sig)
    if len(raw) != 64:
        raise AssertionError("ES256 signature of %d bytes, want 64 (r||s)" % len(raw))
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    signer.public_key().verify(der, (header + "." + payload).encode(), ec.ECDSA(hashes.SHA256()))
    print("ok: blob signature verified to the root")
    return json.loads(b64url(payload))


def key_identifier(der):
    cert = x509.load_der_x509_certificate(der, default_backend())
    ski = cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
    return ski.value.digest.hex()


def find_entry(blob, aaguid, leaf):
    if aaguid != bytes(16):
        want = str(uuid.UUID(bytes=aaguid))
        for e in blob["entries"]:
            if e.get("aaguid") == want:
                print("ok: entry by aaguid %s" % want)
                return e
        raise AssertionError("no entry for AAGUID %s" % want)
    kid = key_identifier(leaf)
    for e in blob["entries"]:
        if kid in e.get("attestationCertificateKeyIdentifiers", []):
            print("ok: entry by key identifier %s" % kid)
            return e
    raise AssertionError("no entry for key identifier %s" % kid)


def main():
    if len(sys.argv) != 4:
        print("usage: python_attestation.py HOST:PORT BLOB ROOT.pem", file=sys.stderr)
        return 2
    addr, blob_path, root_path = sys.argv[1:]
    try:
        root = load_root(root_path)
        blob = verify_blob(blob_path, root)

        dev = open_device(addr)
        cdh = hashlib.sha256(b"python attestation " + os.urandom(8)).digest()
        att = Ctap2(dev).make_credential(
            cdh,
            {"id": "python.example.org", "name": "Example"},
            {"id": os.urandom(16), "name": "alice"},
            [{"type": "public-key", "alg": -7}],
        )
        result = Attestation.for_type(att.fmt)().verify(att.att_statement, att.auth_data, cdh)
        print("ok: %s attestation %s" % (att.fmt, result.attestation_type.name))

        trust_path = list(result.trust_path)
        entry = find_entry(blob, att.auth_data.credential_data.aaguid, trust_path[0])
        anchors = [base64.b64decode(c) for c in entry["metadataStatement"]["attestationRootCertificates"]]
        chain = list(trust_path)
        for a in anchors:
            if a not in chain and a != root:
                chain.append(a)
        if chain[-1] != root:
            chain.append(root)
        verify_x509_chain(chain)
        print("ok: chained to the root (%d certificates)" % len(chain))
    except Exception as e:  # report every failure to the Go test
        traceback.print_exc()
        print("FAIL: %r" % (e,))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
