#!/usr/bin/python3
"""Verify attestation objects with python-fido2 (Debian python3-fido2 0.9.1).

Reads a JSON list of cases from stdin:

    [{"name": str, "attestation_object": hex, "client_data_hash": hex,
      "root": hex (optional DER trust anchor),
      "intermediates": [hex] (optional DER CA certificates the relying
                       party knows, put between x5c and root)}]

and writes a JSON list of results to stdout:

    [{"name": str, "ok": bool, "type": str, "error": str}]

For each case the attestation object is decoded, the format's verifier from
fido2.attestation.Attestation.for_type(fmt) runs, and when the statement
carries x5c the chain (plus "root" when given) is checked link by link with
fido2.attestation.verify_x509_chain.
"""

import json
import sys

from fido2.attestation import Attestation, verify_x509_chain
from fido2.ctap2 import AttestationObject


def verify(case):
    obj = AttestationObject(bytes.fromhex(case["attestation_object"]))
    cdh = bytes.fromhex(case["client_data_hash"])
    result = Attestation.for_type(obj.fmt)().verify(obj.att_statement, obj.auth_data, cdh)
    chain = list(obj.att_statement.get("x5c") or [])
    for der in case.get("intermediates") or []:
        der = bytes.fromhex(der)
        if der not in chain:
            chain.append(der)
    root = case.get("root")
    if root:
        root = bytes.fromhex(root)
        if not chain or chain[-1] != root:
            chain.append(root)
    if len(chain) > 1:
        verify_x509_chain(chain)
    return result.attestation_type.name


def main():
    results = []
    for case in json.load(sys.stdin):
        try:
            results.append({"name": case["name"], "ok": True, "type": verify(case), "error": ""})
        except Exception as e:  # report every failure to the Go test
            results.append({"name": case["name"], "ok": False, "type": "",
                            "error": "%s: %s" % (type(e).__name__, e)})
    json.dump(results, sys.stdout)


if __name__ == "__main__":
    main()
