"""Drive softkey's CTAP 2.1 commands with Debian's python3-fido2 0.9.1.

Usage:
  /usr/bin/python3 python_ctap21.py pin HOST:PORT
  /usr/bin/python3 python_ctap21.py uv HOST:PORT SOFTKEY CONTROL-SOCKET

"pin" expects a new key with softkey's default profile: clientPIN with
both PIN/UV auth protocols, credentialManagement, largeBlobs, credBlob,
credProtect, hmac-secret and authenticatorConfig. "uv" expects a new key
whose profile has built-in UV with bio enrollment; it decides the
verifications with `SOFTKEY uv next ... --control CONTROL-SOCKET` and
power-cycles the key with `SOFTKEY power-cycle`.

Prints one "ok: NAME" line per check that passed and "ok" at the end. On
the first failure it prints "FAIL: NAME: ERROR" with the traceback on
stderr and exits 1.
"""

import hashlib
import os
import subprocess
import sys
import traceback

import fido2
from fido2.client import Fido2Client
from fido2.ctap import CtapError
from fido2.ctap2 import Ctap2
from fido2.ctap2.bio import BioEnrollment, FPBioEnrollment
from fido2.ctap2.blob import LargeBlobs
from fido2.ctap2.config import Config
from fido2.ctap2.credman import CredentialManagement
from fido2.ctap2.pin import ClientPin, PinProtocolV1, PinProtocolV2

from python_udp import open_device

PERM = ClientPin.PERMISSION
CM = CredentialManagement.RESULT


def sha256(b):
    return hashlib.sha256(b).digest()


def check(cond, msg, *args):
    if not cond:
        raise AssertionError(msg % args)


def expect_ctap_error(fn, want):
    """Runs fn and requires it to fail with the CTAP status want."""
    try:
        fn()
    except CtapError as e:
        if e.code != want:
            raise AssertionError("CTAP error 0x%02X, want 0x%02X" % (e.code, want))
        return
    raise AssertionError("no error, want CTAP error 0x%02X" % want)


class Key(object):
    """The device and what the tests need to know of it."""

    def __init__(self, dev):
        self.dev = dev
        self.pin = None

    def ctap(self):
        """A Ctap2 with fresh getInfo (python-fido2 caches it)."""
        return Ctap2(self.dev)

    def token(self, perms, rp_id=None, proto=None, pin=None):
        proto = proto or PinProtocolV2()
        t = ClientPin(self.ctap(), proto).get_pin_token(pin or self.pin, perms, rp_id)
        return proto, t

    def make_rk(self, rp_id, user_name, extensions=None):
        """A discoverable credential made with the PIN; returns the
        AttestationResponse."""
        proto, token = self.token(PERM.MAKE_CREDENTIAL, rp_id)
        cdh = sha256(os.urandom(32))
        return self.ctap().make_credential(
            cdh,
            {"id": rp_id, "name": rp_id.upper()},
            {"id": user_name.encode() + b"-id", "name": user_name, "displayName": user_name.title()},
            [{"type": "public-key", "alg": -7}],
            extensions=extensions,
            options={"rk": True},
            pin_uv_param=proto.authenticate(token, cdh),
            pin_uv_protocol=proto.VERSION,
        )

    def assertion(self, rp_id, cred_id, extensions=None):
        """An assertion with the PIN for one credential."""
        proto, token = self.token(PERM.GET_ASSERTION, rp_id)
        cdh = sha256(os.urandom(32))
        return self.ctap().get_assertion(
            rp_id,
            cdh,
            [{"type": "public-key", "id": cred_id}],
            extensions=extensions,
            pin_uv_param=proto.authenticate(token, cdh),
            pin_uv_protocol=proto.VERSION,
        )

    def retries(self):
        return ClientPin(self.ctap(), PinProtocolV2()).get_pin_retries()[0]


def pin_protocols(key):
    """setPIN, changePIN, getPinRetries and tokens with both protocols
    (CTAP 2.1 §6.5.5)."""
    ctap = key.ctap()
    check(ctap.info.options.get("clientPin") is False, "new key: clientPin option %r, want False", ctap.info.options.get("clientPin"))
    check(sorted(ctap.info.pin_uv_protocols) == [1, 2], "pinUvAuthProtocols %r, want 1 and 2", ctap.info.pin_uv_protocols)
    check(key.retries() == 8, "new key: %d PIN retries, want 8", key.retries())

    ClientPin(ctap, PinProtocolV1()).set_pin("1234")
    key.pin = "1234"
    check(key.ctap().info.options.get("clientPin") is True, "clientPin option after set_pin: want True")
    expect_ctap_error(lambda: ClientPin(key.ctap(), PinProtocolV2()).set_pin("5678"), CtapError.ERR.NOT_ALLOWED)

    # A token from either protocol works with that protocol, and only with it.
    for proto in (PinProtocolV1(), PinProtocolV2()):
        _, token = key.token(PERM.CREDENTIAL_MGMT, proto=proto)
        check(len(token) == 32, "protocol %d token of %d bytes, want 32", proto.VERSION, len(token))
        meta = CredentialManagement(key.ctap(), proto, token).get_metadata()
        check(meta[CM.EXISTING_CRED_COUNT] == 0, "metadata %r: want no credentials", meta)
        other = PinProtocolV2() if proto.VERSION == 1 else PinProtocolV1()
        expect_ctap_error(lambda: CredentialManagement(key.ctap(), other, token).get_metadata(), CtapError.ERR.PIN_AUTH_INVALID)

    expect_ctap_error(lambda: key.token(PERM.CREDENTIAL_MGMT, proto=PinProtocolV2(), pin="0000"), CtapError.ERR.PIN_INVALID)
    check(key.retries() == 7, "after a wrong PIN: %d retries, want 7", key.retries())

    ClientPin(key.ctap(), PinProtocolV2()).change_pin("1234", "12345678")
    key.pin = "12345678"
    check(key.retries() == 8, "after change_pin: %d retries, want 8", key.retries())
    expect_ctap_error(lambda: key.token(PERM.CREDENTIAL_MGMT, proto=PinProtocolV1(), pin="1234"), CtapError.ERR.PIN_INVALID)
    key.token(PERM.CREDENTIAL_MGMT, proto=PinProtocolV1())
    check(key.retries() == 8, "after the right PIN: %d retries, want 8", key.retries())


def credential_management(key):
    """credentialManagement (CTAP 2.1 §6.8): metadata, RPs, credentials
    with credProtect and largeBlobKey, updateUserInformation, delete."""
    alice = key.make_rk("a.example.org", "alice", {"credProtect": 2})
    bob = key.make_rk("a.example.org", "bob", {"largeBlobKey": True})
    carol = key.make_rk("b.example.org", "carol")
    check(alice.auth_data.extensions == {"credProtect": 2}, "alice's authData extensions %r, want credProtect 2", alice.auth_data.extensions)
    check(len(bob.large_blob_key or b"") == 32, "bob's largeBlobKey %r, want 32 bytes", bob.large_blob_key)

    proto, token = key.token(PERM.CREDENTIAL_MGMT)
    cm = CredentialManagement(key.ctap(), proto, token)
    meta = cm.get_metadata()
    check(meta[CM.EXISTING_CRED_COUNT] == 3, "metadata %r: want 3 credentials", meta)
    check(meta[CM.MAX_REMAINING_COUNT] == 997, "metadata %r: want 997 remaining", meta)

    rps = cm.enumerate_rps()
    got = sorted((r[CM.RP]["id"], r[CM.RP_ID_HASH]) for r in rps)
    want = sorted((i, sha256(i.encode())) for i in ("a.example.org", "b.example.org"))
    check(got == want, "RPs %r, want %r", got, want)

    creds = cm.enumerate_creds(sha256(b"a.example.org"))
    by_name = {c[CM.USER]["name"]: c for c in creds}
    check(sorted(by_name) == ["alice", "bob"], "credentials of a.example.org: %r", sorted(by_name))
    a, b = by_name["alice"], by_name["bob"]
    check(a[CM.CREDENTIAL_ID]["id"] == alice.auth_data.credential_data.credential_id, "alice's credential ID differs")
    check(a[CM.PUBLIC_KEY] == dict(alice.auth_data.credential_data.public_key), "alice's public key differs")
    check(a.get(CM.CRED_PROTECT) == 2, "alice's credProtect %r, want 2", a.get(CM.CRED_PROTECT))
    check(b.get(CM.CRED_PROTECT) in (None, 1), "bob's credProtect %r, want 1 or none", b.get(CM.CRED_PROTECT))
    check(b.get(CM.LARGE_BLOB_KEY) == bob.large_blob_key, "bob's largeBlobKey %r, want the one makeCredential gave", b.get(CM.LARGE_BLOB_KEY))
    check(CM.LARGE_BLOB_KEY not in a, "alice has no largeBlobKey, got %r", a.get(CM.LARGE_BLOB_KEY))

    # updateUserInformation keeps the user ID, replaces name and displayName.
    alice_id = {"type": "public-key", "id": alice.auth_data.credential_data.credential_id}
    cm.update_user_info(alice_id, {"id": b"alice-id", "name": "alice2", "displayName": "Alice Two"})
    users = sorted((c[CM.USER]["name"], c[CM.USER].get("displayName")) for c in cm.enumerate_creds(sha256(b"a.example.org")))
    check(users == [("alice2", "Alice Two"), ("bob", "Bob")], "users after update_user_info: %r", users)

    carol_id = {"type": "public-key", "id": carol.auth_data.credential_data.credential_id}
    cm.delete_cred(carol_id)
    check(cm.get_metadata()[CM.EXISTING_CRED_COUNT] == 2, "after delete: want 2 credentials")
    check(cm.enumerate_creds(sha256(b"b.example.org")) == [], "b.example.org still has credentials after delete")
    rps = [r[CM.RP]["id"] for r in cm.enumerate_rps()]
    check(rps == ["a.example.org"], "RPs after delete: %r", rps)
    expect_ctap_error(lambda: cm.delete_cred(carol_id), CtapError.ERR.NO_CREDENTIALS)

    # A token without the cm permission is PIN_AUTH_INVALID here
    # (CTAP 2.1 §6.8.2), not UNAUTHORIZED_PERMISSION.
    proto, ga_token = key.token(PERM.GET_ASSERTION, "a.example.org")
    expect_ctap_error(lambda: CredentialManagement(key.ctap(), proto, ga_token).get_metadata(), CtapError.ERR.PIN_AUTH_INVALID)
    return bob


def large_blobs(key, bob):
    """largeBlobs (CTAP 2.1 §6.10) through a largeBlobKey credential."""
    reader = LargeBlobs(key.ctap())
    check(reader.read_blob_array() == [], "a new key's large-blob array %r, want []", reader.read_blob_array())

    # The assertion hands out the same largeBlobKey.
    cred_id = bob.auth_data.credential_data.credential_id
    resp = key.assertion("a.example.org", cred_id, {"largeBlobKey": True})
    check(resp.large_blob_key == bob.large_blob_key, "assertion largeBlobKey %r, want makeCredential's", resp.large_blob_key)

    data = b"softkey large blob " * 100
    expect_ctap_error(lambda: reader.put_blob(bob.large_blob_key, data), CtapError.ERR.PIN_REQUIRED)
    proto, token = key.token(PERM.LARGE_BLOB_WRITE)
    writer = LargeBlobs(key.ctap(), proto, token)
    writer.put_blob(bob.large_blob_key, data)
    check(LargeBlobs(key.ctap()).get_blob(bob.large_blob_key) == data, "get_blob after put_blob: data differs")
    check(len(LargeBlobs(key.ctap()).read_blob_array()) == 1, "array after one put_blob: want one entry")
    check(LargeBlobs(key.ctap()).get_blob(os.urandom(32)) is None, "get_blob with another key found data")

    # An array of random data, near the profile's 4096-byte limit, read
    # back whole.
    big = [os.urandom(1500), os.urandom(1500)]
    writer.write_blob_array(big)
    check(LargeBlobs(key.ctap()).read_blob_array() == big, "a 3 KB array read back differs")

    writer.write_blob_array([])
    writer.put_blob(bob.large_blob_key, data)
    writer.delete_blob(bob.large_blob_key)
    check(LargeBlobs(key.ctap()).get_blob(bob.large_blob_key) is None, "get_blob after delete_blob found data")


def cred_blob(key):
    """credBlob (CTAP 2.1 §12.2): stored at makeCredential, returned by
    getAssertion."""
    blob = b"thirty-two bytes of credBlob...."
    att = key.make_rk("blob.example.org", "dave", {"credBlob": blob})
    check(att.auth_data.extensions.get("credBlob") is True, "makeCredential credBlob output %r, want True", att.auth_data.extensions)
    # The CTAP input is credBlob: true (WebAuthn's getCredBlob).
    resp = key.assertion("blob.example.org", att.auth_data.credential_data.credential_id, {"credBlob": True})
    check(resp.auth_data.extensions.get("credBlob") == blob, "getAssertion credBlob %r, want %r", resp.auth_data.extensions, blob)
    too_long = key.make_rk("blob2.example.org", "erin", {"credBlob": b"x" * 33})
    check(too_long.auth_data.extensions.get("credBlob") is False, "a 33-byte credBlob: output %r, want False", too_long.auth_data.extensions)


def hmac_secret(key):
    """hmac-secret (CTAP 2.1 §12.5) through Fido2Client's hmacCreateSecret
    and hmacGetSecret."""
    rp_id = "hmac.example.org"
    client = Fido2Client(key.dev, "https://" + rp_id)
    att = client.make_credential(
        {
            "rp": {"id": rp_id, "name": "HMAC"},
            "user": {"id": b"frank-id", "name": "frank"},
            "challenge": os.urandom(32),
            "pubKeyCredParams": [{"type": "public-key", "alg": -7}],
            "extensions": {"hmacCreateSecret": True},
        },
        pin=key.pin,
    )
    check(att.extension_results == {"hmacCreateSecret": True}, "extension results %r, want hmacCreateSecret", att.extension_results)
    cred_id = att.attestation_object.auth_data.credential_data.credential_id

    def secret(salt1, salt2=None):
        salts = {"salt1": salt1}
        if salt2:
            salts["salt2"] = salt2
        sel = client.get_assertion(
            {
                "challenge": os.urandom(32),
                "rpId": rp_id,
                "allowCredentials": [{"type": "public-key", "id": cred_id}],
                "extensions": {"hmacGetSecret": salts},
            },
            pin=key.pin,
        )
        out = sel.get_response(0).extension_results["hmacGetSecret"]
        return out["output1"], out.get("output2")

    a, b = b"\x01" * 32, b"\x02" * 32
    s1, _ = secret(a)
    check(len(s1) == 32, "hmac-secret output of %d bytes, want 32", len(s1))
    check(secret(a)[0] == s1, "the same salt gave another secret")
    s2, _ = secret(b)
    check(s2 != s1, "two salts gave the same secret")
    both = secret(a, b)
    check(both == (s1, s2), "two salts at once gave %r, want the outputs of each alone", both)


def authenticator_config(key):
    """authenticatorConfig (CTAP 2.1 §6.11): setMinPINLength with
    forceChangePin, toggleAlwaysUv."""
    proto, token = key.token(PERM.AUTHENTICATOR_CFG)
    cfg = Config(key.ctap(), proto, token)
    cfg.set_min_pin_length(min_pin_length=6)
    check(key.ctap().info.min_pin_length == 6, "minPINLength %r after set_min_pin_length(6)", key.ctap().info.min_pin_length)
    expect_ctap_error(lambda: ClientPin(key.ctap(), PinProtocolV2()).change_pin(key.pin, "12345"), CtapError.ERR.PIN_POLICY_VIOLATION)
    # The minimum only grows.
    expect_ctap_error(lambda: cfg.set_min_pin_length(min_pin_length=4), CtapError.ERR.PIN_POLICY_VIOLATION)

    # minPinLength (CTAP 2.1 §12.4): only the RP IDs setMinPINLength
    # named learn the minimum.
    cfg.set_min_pin_length(rp_ids=["minpin.example.org"])
    att = key.make_rk("minpin.example.org", "henry", {"minPinLength": True})
    check(att.auth_data.extensions == {"minPinLength": 6}, "minPinLength for a listed RP: %r, want 6", att.auth_data.extensions)
    att = key.make_rk("other.example.org", "ivan", {"minPinLength": True})
    check(not att.auth_data.extensions, "minPinLength for an RP not listed: %r, want none", att.auth_data.extensions)

    # Getting a token for makeCredential replaced the acfg one.
    proto, token = key.token(PERM.AUTHENTICATOR_CFG)
    cfg = Config(key.ctap(), proto, token)
    cfg.set_min_pin_length(force_change_pin=True)
    check(key.ctap().info.force_pin_change is True, "forcePINChange after set_min_pin_length(force_change_pin=True): want True")
    expect_ctap_error(lambda: key.token(PERM.CREDENTIAL_MGMT), CtapError.ERR.PIN_POLICY_VIOLATION)
    ClientPin(key.ctap(), PinProtocolV1()).change_pin(key.pin, "87654321")
    key.pin = "87654321"
    check(key.ctap().info.force_pin_change is False, "forcePINChange after change_pin: want False")

    always = key.ctap().info.options.get("alwaysUv")
    check(always is False, "alwaysUv option %r, want False", always)
    proto, token = key.token(PERM.AUTHENTICATOR_CFG)
    Config(key.ctap(), proto, token).toggle_always_uv()
    check(key.ctap().info.options.get("alwaysUv") is True, "alwaysUv after toggle_always_uv: want True")
    Config(key.ctap(), proto, token).toggle_always_uv()
    check(key.ctap().info.options.get("alwaysUv") is False, "alwaysUv after two toggles: want False")

    # Without a token, or with one lacking acfg, nothing changes.
    expect_ctap_error(lambda: Config(key.ctap()).toggle_always_uv(), CtapError.ERR.PIN_REQUIRED)
    # A token without acfg is PIN_AUTH_INVALID (CTAP 2.1 §6.11).
    proto, cm_token = key.token(PERM.CREDENTIAL_MGMT)
    expect_ctap_error(lambda: Config(key.ctap(), proto, cm_token).toggle_always_uv(), CtapError.ERR.PIN_AUTH_INVALID)
    check(key.ctap().info.options.get("alwaysUv") is False, "alwaysUv changed by refused requests")


class UVKey(Key):
    def __init__(self, addr, softkey, control):
        super(UVKey, self).__init__(open_device(addr))
        self.addr = addr
        self.softkey = softkey
        self.control = control

    def cli(self, *args):
        """Runs softkey ARGS --control SOCKET."""
        subprocess.run([self.softkey] + list(args) + ["--control", self.control], check=True, timeout=30)


def bio_enrollment(key):
    """bioEnrollment (CTAP 2.1 §6.7) with the emulated sensor; softkey uv
    next decides the samples."""
    ctap = key.ctap()
    check(ctap.info.options.get("bioEnroll") is False, "bioEnroll option %r before enrollment, want False", ctap.info.options.get("bioEnroll"))
    check(ctap.info.options.get("uv") is False, "uv option %r before enrollment, want False", ctap.info.options.get("uv"))
    ClientPin(ctap, PinProtocolV2()).set_pin("1234")
    key.pin = "1234"

    proto, token = key.token(PERM.BIO_ENROLL)
    bio = FPBioEnrollment(key.ctap(), proto, token)
    sensor = bio.get_fingerprint_sensor_info()
    samples = sensor[BioEnrollment.RESULT.MAX_SAMPLES_REQUIRED]
    check(samples >= 1, "sensor info %r", sensor)

    tid, status, remaining = bio.enroll_begin()
    check(status == FPBioEnrollment.FEEDBACK.FP_GOOD and remaining == samples - 1,
          "enroll_begin: %s, %d remaining; want FP_GOOD, %d", status, remaining, samples - 1)
    key.cli("uv", "next", "fail")
    status, after = bio.enroll_capture_next(tid)
    check(status != FPBioEnrollment.FEEDBACK.FP_GOOD and after == remaining,
          "a failed sample: %s, %d remaining; want a bad status and still %d", status, after, remaining)
    while remaining > 0:
        status, remaining = bio.enroll_capture_next(tid)
        check(status == FPBioEnrollment.FEEDBACK.FP_GOOD, "sample status %s, want FP_GOOD", status)
    bio.set_name(tid, "right index")
    got = bio.enumerate_enrollments()
    check(got == {tid: "right index"}, "enrollments %r, want {%r: 'right index'}", got, tid)
    ctap = key.ctap()
    check(ctap.info.options.get("bioEnroll") is True and ctap.info.options.get("uv") is True,
          "options after enrollment %r: want bioEnroll and uv True", ctap.info.options)
    return tid


def uv_token(key):
    """getPinUvAuthTokenUsingUvWithPermissions and getUVRetries (CTAP 2.1
    §6.5.5.7.3, §6.5.5.8), the outcome decided by softkey uv next."""
    proto = PinProtocolV2()
    cp = ClientPin(key.ctap(), proto)
    full = cp.get_uv_retries()[0]
    check(full >= 1, "uvRetries %d", full)
    key.cli("uv", "next", "fail")
    expect_ctap_error(lambda: cp.get_uv_token(PERM.CREDENTIAL_MGMT), CtapError.ERR.UV_INVALID)
    check(cp.get_uv_retries()[0] == full - 1, "uvRetries after a failed match: %d, want %d", cp.get_uv_retries()[0], full - 1)
    token = cp.get_uv_token(PERM.CREDENTIAL_MGMT)
    check(cp.get_uv_retries()[0] == full, "uvRetries after a match: %d, want %d", cp.get_uv_retries()[0], full)
    meta = CredentialManagement(key.ctap(), proto, token).get_metadata()
    check(meta[CM.EXISTING_CRED_COUNT] == 0, "metadata %r", meta)

    # softkey uv default fail: every verification fails until told otherwise.
    key.cli("uv", "default", "fail")
    for _ in range(2):
        expect_ctap_error(lambda: cp.get_uv_token(PERM.CREDENTIAL_MGMT), CtapError.ERR.UV_INVALID)
    key.cli("uv", "default", "pass")
    cp.get_uv_token(PERM.CREDENTIAL_MGMT)

    # A power cycle forgets the token. It forgets the CTAPHID channel too,
    # as unplugging a real key would: the device is opened again.
    key.cli("power-cycle")
    key.dev = open_device(key.addr)
    expect_ctap_error(lambda: CredentialManagement(key.ctap(), proto, token).get_metadata(), CtapError.ERR.PIN_AUTH_INVALID)


def uv_assertion(key):
    """The uv option of makeCredential and getAssertion: built-in UV per
    request (CTAP 2.1 §6.1.2 step 11, §6.2.2 step 6)."""
    rp_id = "uv.example.org"
    proto = PinProtocolV2()
    token = ClientPin(key.ctap(), proto).get_uv_token(PERM.MAKE_CREDENTIAL, rp_id)
    cdh = sha256(b"make credential")
    att = key.ctap().make_credential(
        cdh, {"id": rp_id, "name": "UV"}, {"id": b"grace-id", "name": "grace"},
        [{"type": "public-key", "alg": -7}], options={"rk": True},
        pin_uv_param=proto.authenticate(token, cdh), pin_uv_protocol=proto.VERSION,
    )
    check(att.auth_data.flags & 0x04, "makeCredential with a UV token: flags 0x%02x, want UV", att.auth_data.flags)

    # A failed match with a PIN set sends the platform to the PIN:
    # CTAP2_ERR_PUAT_REQUIRED (0x36, python-fido2's PIN_REQUIRED), §6.2.2
    # step 6.
    key.cli("uv", "next", "fail")
    expect_ctap_error(lambda: key.ctap().get_assertion(rp_id, sha256(b"a1"), options={"uv": True}), CtapError.ERR.PIN_REQUIRED)
    resp = key.ctap().get_assertion(rp_id, sha256(b"a2"), options={"uv": True})
    check(resp.auth_data.flags & 0x04, "getAssertion with uv after a match: flags 0x%02x, want UV", resp.auth_data.flags)
    check(resp.credential["id"] == att.auth_data.credential_data.credential_id, "getAssertion found another credential")
    resp.verify(sha256(b"a2"), att.auth_data.credential_data.public_key)


def enterprise_attestation(key):
    """authenticatorConfig enableEnterpriseAttestation (CTAP 2.1 §6.11.1),
    which python-fido2 0.9.1 has no method for."""
    check(key.ctap().info.options.get("ep") is False, "ep option %r before enabling, want False", key.ctap().info.options.get("ep"))
    proto, token = key.token(PERM.AUTHENTICATOR_CFG)
    Config(key.ctap(), proto, token)._call(Config.CMD.ENABLE_ENTERPRISE_ATT)
    check(key.ctap().info.options.get("ep") is True, "ep option after enableEnterpriseAttestation: want True")


def bio_remove(key, tid):
    proto, token = key.token(PERM.BIO_ENROLL)
    bio = FPBioEnrollment(key.ctap(), proto, token)
    bio.remove_enrollment(tid)
    check(bio.enumerate_enrollments() == {}, "enrollments after remove_enrollment: %r", bio.enumerate_enrollments())
    check(key.ctap().info.options.get("uv") is False, "uv option after the last fingerprint is removed: want False")


def run(checks):
    for name, fn in checks:
        try:
            fn()
        except Exception as e:  # report every kind of failure the same way
            traceback.print_exc()
            print("FAIL: %s: %r" % (name, e))
            sys.stdout.flush()
            return 1
        print("ok: %s" % name)
        sys.stdout.flush()
    print("ok")
    return 0


def main():
    args = sys.argv[1:]
    if len(args) == 2 and args[0] == "pin":
        key = Key(open_device(args[1]))
        state = {}
        checks = [
            ("pin-protocols", lambda: pin_protocols(key)),
            ("credential-management", lambda: state.update(bob=credential_management(key))),
            ("large-blobs", lambda: large_blobs(key, state["bob"])),
            ("cred-blob", lambda: cred_blob(key)),
            ("hmac-secret", lambda: hmac_secret(key)),
            ("authenticator-config", lambda: authenticator_config(key)),
        ]
    elif len(args) == 4 and args[0] == "uv":
        key = UVKey(args[1], args[2], args[3])
        state = {}
        checks = [
            ("bio-enrollment", lambda: state.update(tid=bio_enrollment(key))),
            ("uv-token", lambda: uv_token(key)),
            ("uv-assertion", lambda: uv_assertion(key)),
            ("enterprise-attestation", lambda: enterprise_attestation(key)),
            ("bio-remove", lambda: bio_remove(key, state["tid"])),
        ]
    else:
        print(__doc__, file=sys.stderr)
        return 2
    print("python-fido2 %s" % fido2.__version__)
    return run(checks)


if __name__ == "__main__":
    sys.exit(main())
