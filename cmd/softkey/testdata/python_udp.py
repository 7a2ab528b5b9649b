"""Drive a softkey UDP wire with Debian's python3-fido2 0.9.1.

Usage: /usr/bin/python3 python_udp.py HOST:PORT

Prints one "ok: NAME" line per check that passed. On the first failure it
prints "FAIL: NAME: ERROR" with the traceback on stderr and exits 1.
"""

import hashlib
import os
import socket
import sys
import traceback

import fido2
from fido2.attestation import Attestation
from fido2.client import Fido2Client
from fido2.cose import ES256
from fido2.ctap1 import APDU, ApduError, Ctap1
from fido2.ctap2 import Ctap2
from fido2.hid import CtapHidDevice
from fido2.hid.base import CtapHidConnection, HidDescriptor
from fido2.server import Fido2Server
from fido2.webauthn import PublicKeyCredentialRpEntity


class UdpConn(CtapHidConnection):
    """One 64-byte HID report per datagram, no report ID; the key answers
    the sender, so any local port will do."""

    def __init__(self, remote):
        self.s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.s.bind(("127.0.0.1", 0))
        self.s.settimeout(10)
        self.remote = remote

    def write_packet(self, data):
        self.s.sendto(data, self.remote)

    def read_packet(self):
        return self.s.recv(64)

    def close(self):
        self.s.close()


def sha256(b):
    return hashlib.sha256(b).digest()


def open_device(addr):
    host, port = addr.rsplit(":", 1)
    desc = HidDescriptor("udp:" + addr, 0x1234, 0x5678, 64, 64)
    return CtapHidDevice(desc, UdpConn((host, int(port))))


def check_attestation(att):
    """Checks the attestation statement's signature with python-fido2's own
    verifier for its format."""
    obj = att.attestation_object
    result = Attestation.for_type(obj.fmt)().verify(
        obj.att_statement, obj.auth_data, att.client_data.hash
    )
    return obj.fmt, result


def webauthn_register_authenticate(dev, resident):
    rp_id = "webauthn-rk.example.org" if resident else "webauthn.example.org"
    server = Fido2Server(PublicKeyCredentialRpEntity(rp_id, "Example RP"))
    client = Fido2Client(dev, "https://" + rp_id)
    user = {"id": os.urandom(16), "name": "alice", "displayName": "Alice"}

    opts, state = server.register_begin(
        user, resident_key=resident, user_verification="discouraged"
    )
    att = client.make_credential(opts["publicKey"])
    auth_data = server.register_complete(
        state, att.client_data, att.attestation_object
    )
    fmt, _ = check_attestation(att)
    if fmt != "packed":
        raise AssertionError("attestation format %r, want packed" % fmt)
    cred = auth_data.credential_data

    counters = []
    for _ in range(2):
        # A discoverable credential is found without an allow list.
        allowed = [] if resident else [cred]
        opts, state = server.authenticate_begin(
            allowed, user_verification="discouraged"
        )
        sel = client.get_assertion(opts["publicKey"])
        r = sel.get_response(0)
        server.authenticate_complete(
            state,
            [cred],
            r.credential_id,
            r.client_data,
            r.authenticator_data,
            r.signature,
        )
        if r.credential_id != cred.credential_id:
            raise AssertionError("assertion used another credential")
        if resident and r.user_handle != user["id"]:
            raise AssertionError("the assertion does not name the user")
        counters.append(r.authenticator_data.counter)
    if not counters[1] > counters[0]:
        raise AssertionError("counter did not increase: %r" % counters)


def ctap1_register_authenticate(dev):
    ctap1 = Ctap1(dev)
    version = ctap1.get_version()
    if version != "U2F_V2":
        raise AssertionError("U2F version %r" % version)
    app = sha256(b"https://u2f.example.org")
    chal = sha256(b"register challenge")
    reg = ctap1.register(chal, app)
    reg.verify(app, chal)

    counters = []
    for i in range(2):
        chal = sha256(b"authenticate challenge %d" % i)
        sig = ctap1.authenticate(chal, app, reg.key_handle)
        sig.verify(app, chal, reg.public_key)
        if sig.user_presence & 1 != 1:
            raise AssertionError("user presence bit not set")
        counters.append(sig.counter)
    if not counters[1] > counters[0]:
        raise AssertionError("counter did not increase: %r" % counters)

    # check-only: a key handle of ours answers "conditions not satisfied",
    # one for another application "wrong data".
    expect_sw(lambda: ctap1.authenticate(chal, app, reg.key_handle, check_only=True),
              APDU.USE_NOT_SATISFIED)
    expect_sw(lambda: ctap1.authenticate(chal, sha256(b"other"), reg.key_handle, check_only=True),
              APDU.WRONG_DATA)


def expect_sw(fn, want):
    try:
        fn()
    except ApduError as e:
        if e.code != want:
            raise AssertionError("status word %04x, want %04x" % (e.code, want))
        return
    raise AssertionError("no error, want status word %04x" % want)


def ctap1_credential_through_ctap2(dev):
    """A U2F credential is usable with CTAP2 getAssertion when the RP ID
    hashes to the U2F application parameter."""
    rp_id = "u2f-to-ctap2.example.org"
    app = sha256(rp_id.encode())
    reg = Ctap1(dev).register(sha256(b"register"), app)
    reg.verify(app, sha256(b"register"))

    cdh = sha256(b"ctap2 assertion")
    ctap2 = Ctap2(dev)
    resp = ctap2.get_assertion(
        rp_id, cdh, allow_list=[{"type": "public-key", "id": reg.key_handle}]
    )
    resp.verify(cdh, ES256.from_ctap1(reg.public_key))
    if resp.auth_data.rp_id_hash != app:
        raise AssertionError("rpIdHash is not the U2F application parameter")
    if resp.credential and resp.credential["id"] != reg.key_handle:
        raise AssertionError("assertion names another credential")


def ctap2_credential_through_ctap1(dev):
    """A non-discoverable ES256 CTAP2 credential is usable with U2F
    authenticate, its ID as the key handle."""
    rp_id = "ctap2-to-u2f.example.org"
    ctap2 = Ctap2(dev)
    att = ctap2.make_credential(
        sha256(b"make credential"),
        {"id": rp_id, "name": "Example"},
        {"id": b"user-1", "name": "bob"},
        [{"type": "public-key", "alg": -7}],
    )
    cred = att.auth_data.credential_data
    if len(cred.credential_id) > 255:
        raise AssertionError("credential ID of %d bytes cannot be a U2F key handle" % len(cred.credential_id))
    pub = cred.public_key
    raw = b"\x04" + pub[-2] + pub[-3]  # COSE EC2: -2 is x, -3 is y

    app = sha256(rp_id.encode())
    chal = sha256(b"u2f authenticate")
    sig = Ctap1(dev).authenticate(chal, app, cred.credential_id)
    sig.verify(app, chal, raw)


CHECKS = [
    ("fido2-client-server-register-authenticate", lambda d: webauthn_register_authenticate(d, False)),
    ("fido2-client-server-discoverable", lambda d: webauthn_register_authenticate(d, True)),
    ("ctap1-register-authenticate", ctap1_register_authenticate),
    ("ctap1-credential-through-ctap2", ctap1_credential_through_ctap2),
    ("ctap2-credential-through-ctap1", ctap2_credential_through_ctap1),
]


def main():
    if len(sys.argv) != 2:
        print("usage: python_udp.py HOST:PORT", file=sys.stderr)
        return 2
    print("python-fido2 %s" % fido2.__version__)
    dev = open_device(sys.argv[1])
    info = Ctap2(dev).get_info()
    print("ok: get-info %s" % ",".join(info.versions))
    for name, check in CHECKS:
        try:
            check(dev)
        except Exception as e:  # report every kind of failure the same way
            traceback.print_exc()
            print("FAIL: %s: %r" % (name, e))
            return 1
        print("ok: %s" % name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
