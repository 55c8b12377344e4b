"""Signing keys for the Huawei mock, in pure Python (the package depends on no crypto library):
RSA (RSASSA-PKCS1-v1_5 and RSASSA-PSS, RFC 8017) and ECDSA over NIST P-256, P-384 and secp256k1
(SEC 1), public keys as PEM SubjectPublicKeyInfo, signatures in the usual encodings (RSA: the raw
integer; ECDSA: DER Ecdsa-Sig-Value), so any real library verifies what the mock signs.

Not constant-time, not for protecting anything.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from conformance.vendors.huawei.mock import rsa
from conformance.vendors.huawei.mock.rsa import RsaKey, _der, _der_int

# -- hashes ---------------------------------------------------------------------------------
_DIGEST_INFO = {  # RFC 8017 9.2 note 1: the DER DigestInfo prefix per hash
    "sha256": bytes.fromhex("3031300d060960864801650304020105000420"),
    "sha384": bytes.fromhex("3041300d060960864801650304020205000430"),
    "sha512": bytes.fromhex("3051300d060960864801650304020305000440"),
}


class SignatureError(ValueError):
    """A signature that is not even well-formed."""


# -- RSA ------------------------------------------------------------------------------------
def rsa_sign_pkcs1(key: RsaKey, hash_name: str, digest: bytes) -> bytes:
    t = _DIGEST_INFO[hash_name] + digest
    em = b"\x00\x01" + b"\xff" * (key.size - len(t) - 3) + b"\x00" + t
    return pow(int.from_bytes(em, "big"), key.d, key.n).to_bytes(key.size, "big")


def rsa_verify_pkcs1(key: RsaKey, hash_name: str, digest: bytes, signature: bytes) -> bool:
    if len(signature) != key.size or int.from_bytes(signature, "big") >= key.n:
        return False
    em = pow(int.from_bytes(signature, "big"), key.e, key.n).to_bytes(key.size, "big")
    t = _DIGEST_INFO[hash_name] + digest
    return hmac.compare_digest(em, b"\x00\x01" + b"\xff" * (key.size - len(t) - 3) + b"\x00" + t)


def rsa_sign_pss(key: RsaKey, hash_name: str, digest: bytes) -> bytes:
    """EMSA-PSS with MGF1 of the same hash and a salt as long as the digest."""
    h_len = len(digest)
    em_bits = key.n.bit_length() - 1
    em_len = (em_bits + 7) // 8
    salt = secrets.token_bytes(h_len)
    h = hashlib.new(hash_name, b"\x00" * 8 + digest + salt).digest()
    db = b"\x00" * (em_len - 2 * h_len - 2) + b"\x01" + salt
    masked = bytearray(_xor(db, rsa._mgf1(h, len(db), hash_name)))
    masked[0] &= 0xFF >> (8 * em_len - em_bits)
    em = bytes(masked) + h + b"\xbc"
    return pow(int.from_bytes(em, "big"), key.d, key.n).to_bytes(key.size, "big")


def rsa_verify_pss(key: RsaKey, hash_name: str, digest: bytes, signature: bytes) -> bool:
    """EMSA-PSS-VERIFY (RFC 8017 9.1.2) with MGF1 of the same hash; any salt length."""
    if len(signature) != key.size or int.from_bytes(signature, "big") >= key.n:
        return False
    em_bits = key.n.bit_length() - 1
    em_len = (em_bits + 7) // 8
    em = pow(int.from_bytes(signature, "big"), key.e, key.n).to_bytes(key.size, "big")[-em_len:]
    h_len = len(digest)
    if em[-1] != 0xBC or em_len < h_len + 2:
        return False
    masked, h = em[: em_len - h_len - 1], em[em_len - h_len - 1 : -1]
    if masked[0] & ~(0xFF >> (8 * em_len - em_bits)) & 0xFF:
        return False
    db = bytearray(_xor(masked, rsa._mgf1(h, len(masked), hash_name)))
    db[0] &= 0xFF >> (8 * em_len - em_bits)
    separator = bytes(db).find(b"\x01")
    if separator < 0 or any(db[:separator]):
        return False
    salt = bytes(db[separator + 1 :])
    return hmac.compare_digest(h, hashlib.new(hash_name, b"\x00" * 8 + digest + salt).digest())


def rsa_public_pem(key: RsaKey) -> str:
    return pem(key.public_der())


# -- elliptic curves ------------------------------------------------------------------------
@dataclass(frozen=True)
class Curve:
    name: str
    p: int
    a: int
    b: int
    gx: int
    gy: int
    n: int
    oid: bytes  # DER OBJECT IDENTIFIER of the named curve

    @property
    def size(self) -> int:
        return (self.p.bit_length() + 7) // 8


CURVES = {
    "EC_P256": Curve(
        "P-256",
        p=0xFFFFFFFF00000001000000000000000000000000FFFFFFFFFFFFFFFFFFFFFFFF,
        a=-3,
        b=0x5AC635D8AA3A93E7B3EBBD55769886BC651D06B0CC53B0F63BCE3C3E27D2604B,
        gx=0x6B17D1F2E12C4247F8BCE6E563A440F277037D812DEB33A0F4A13945D898C296,
        gy=0x4FE342E2FE1A7F9B8EE7EB4A7C0F9E162BCE33576B315ECECBB6406837BF51F5,
        n=0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551,
        oid=bytes.fromhex("06082a8648ce3d030107"),
    ),
    "EC_P384": Curve(
        "P-384",
        p=int(
            "fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffeffffffff0000000000000000ffffffff",
            16,
        ),
        a=-3,
        b=int(
            "b3312fa7e23ee7e4988e056be3f82d19181d9c6efe8141120314088f5013875ac656398d8a2ed19d2a85c8edd3ec2aef",
            16,
        ),
        gx=int(
            "aa87ca22be8b05378eb1c71ef320ad746e1d3b628ba79b9859f741e082542a385502f25dbf55296c3a545e3872760ab7",
            16,
        ),
        gy=int(
            "3617de4a96262c6f5d9e98bf9292dc29f8f41dbd289a147ce9da3113b5f0b8c00a60b1ce1d7e819d7a431d7c90ea0e5f",
            16,
        ),
        n=int(
            "ffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973",
            16,
        ),
        oid=bytes.fromhex("06052b81040022"),
    ),
    "SECP256K1": Curve(
        "secp256k1",
        p=0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEFFFFFC2F,
        a=0,
        b=7,
        gx=0x79BE667EF9DCBBAC55A06295CE870B07029BFCDB2DCE28D959F2815B16F81798,
        gy=0x483ADA7726A3C4655DA4FBFC0E1108A8FD17B448A68554199C47D08FFB10D4B8,
        n=0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141,
        oid=bytes.fromhex("06052b8104000a"),
    ),
}
_EC_PUBLIC_KEY_OID = bytes.fromhex("06072a8648ce3d0201")  # 1.2.840.10045.2.1 id-ecPublicKey

Point = tuple[int, int] | None  # None: the point at infinity


def _add(c: Curve, p1: Point, p2: Point) -> Point:
    if p1 is None:
        return p2
    if p2 is None:
        return p1
    (x1, y1), (x2, y2) = p1, p2
    if x1 == x2 and (y1 + y2) % c.p == 0:
        return None
    if p1 == p2:
        slope = (3 * x1 * x1 + c.a) * pow(2 * y1, -1, c.p) % c.p
    else:
        slope = (y2 - y1) * pow(x2 - x1, -1, c.p) % c.p
    x3 = (slope * slope - x1 - x2) % c.p
    return x3, (slope * (x1 - x3) - y1) % c.p


def _mul(c: Curve, k: int, point: Point) -> Point:
    result: Point = None
    while k:
        if k & 1:
            result = _add(c, result, point)
        point = _add(c, point, point)
        k >>= 1
    return result


@dataclass(frozen=True)
class EcKey:
    curve: Curve
    d: int
    q: tuple[int, int]

    def public_der(self) -> bytes:
        c = self.curve
        point = b"\x04" + self.q[0].to_bytes(c.size, "big") + self.q[1].to_bytes(c.size, "big")
        algorithm = _der(0x30, _EC_PUBLIC_KEY_OID + c.oid)
        return _der(0x30, algorithm + _der(0x03, b"\x00" + point))


def ec_generate(spec: str) -> EcKey:
    c = CURVES[spec]
    d = secrets.randbelow(c.n - 1) + 1
    q = _mul(c, d, (c.gx, c.gy))
    assert q is not None
    return EcKey(c, d, q)


def _z(c: Curve, digest: bytes) -> int:
    z = int.from_bytes(digest, "big")
    excess = len(digest) * 8 - c.n.bit_length()
    return z >> excess if excess > 0 else z


def ecdsa_sign(key: EcKey, digest: bytes) -> bytes:
    c = key.curve
    z = _z(c, digest)
    while True:
        k = secrets.randbelow(c.n - 1) + 1
        point = _mul(c, k, (c.gx, c.gy))
        assert point is not None
        r = point[0] % c.n
        s = pow(k, -1, c.n) * (z + r * key.d) % c.n
        if r and s:
            return _der(0x30, _der_int(r) + _der_int(s))


def ecdsa_verify(key: EcKey, digest: bytes, signature: bytes) -> bool:
    c = key.curve
    try:
        r, s = _ecdsa_values(signature)
    except SignatureError:
        return False
    if not (0 < r < c.n and 0 < s < c.n):
        return False
    w = pow(s, -1, c.n)
    point = _add(c, _mul(c, _z(c, digest) * w % c.n, (c.gx, c.gy)), _mul(c, r * w % c.n, key.q))
    return point is not None and point[0] % c.n == r


def _ecdsa_values(signature: bytes) -> tuple[int, int]:
    """(r, s) of a DER Ecdsa-Sig-Value (short-form lengths: every curve here fits)."""
    if len(signature) < 8 or signature[0] != 0x30 or signature[1] != len(signature) - 2:
        raise SignatureError("not a DER sequence")
    values, at = [], 2
    for _ in range(2):
        if at + 2 > len(signature) or signature[at] != 0x02:
            raise SignatureError("not a DER integer")
        length = signature[at + 1]
        values.append(int.from_bytes(signature[at + 2 : at + 2 + length], "big"))
        at += 2 + length
    if at != len(signature):
        raise SignatureError("trailing bytes")
    return values[0], values[1]


# -- shared ---------------------------------------------------------------------------------
def pem(der: bytes) -> str:
    body = base64.b64encode(der).decode()
    lines = [body[i : i + 64] for i in range(0, len(body), 64)]
    return "-----BEGIN PUBLIC KEY-----\n" + "\n".join(lines) + "\n-----END PUBLIC KEY-----\n"


def _xor(a: bytes, b: bytes) -> bytes:
    return bytes(x ^ y for x, y in zip(a, b, strict=True))
