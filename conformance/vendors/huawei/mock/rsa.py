"""Just enough RSA for the Huawei mock, in pure Python (the package does not depend on a crypto
library): key generation, the public key as DER SubjectPublicKeyInfo, and RSAES-OAEP decryption
(RFC 8017 7.1.2) of key material wrapped for import-key-material.

Not constant-time, not for protecting anything: it lets the mock take material wrapped by a real
client with the public key get-parameters-for-import handed out, and check it.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

E = 65537
_SMALL_PRIMES = [p for p in range(3, 2000, 2) if all(p % d for d in range(3, int(p**0.5) + 1, 2))]
_RSA_OID = bytes.fromhex("06092a864886f70d010101")  # 1.2.840.113549.1.1.1 rsaEncryption


class DecryptError(ValueError):
    """The ciphertext is not an OAEP encryption under this key."""


def _probably_prime(n: int, rounds: int = 24) -> bool:
    if any(n % p == 0 for p in _SMALL_PRIMES):
        return n in _SMALL_PRIMES
    d, s = n - 1, 0
    while d % 2 == 0:
        d, s = d // 2, s + 1
    for _ in range(rounds):
        x = pow(secrets.randbelow(n - 3) + 2, d, n)
        if x in (1, n - 1):
            continue
        for _ in range(s - 1):
            x = pow(x, 2, n)
            if x == n - 1:
                break
        else:
            return False
    return True


def _prime(bits: int) -> int:
    while True:
        candidate = secrets.randbits(bits) | (1 << (bits - 1)) | (1 << (bits - 2)) | 1
        if candidate % E != 1 and _probably_prime(candidate):
            return candidate


@dataclass(frozen=True)
class RsaKey:
    n: int
    e: int
    d: int

    @property
    def size(self) -> int:
        """The modulus length in bytes."""
        return (self.n.bit_length() + 7) // 8

    def public_der(self) -> bytes:
        """The public key as DER SubjectPublicKeyInfo (what PEM "PUBLIC KEY" wraps)."""
        rsa_public = _der(0x30, _der_int(self.n) + _der_int(self.e))
        algorithm = _der(0x30, _RSA_OID + b"\x05\x00")
        return _der(0x30, algorithm + _der(0x03, b"\x00" + rsa_public))

    def raw_decrypt(self, data: bytes) -> bytes:
        if len(data) != self.size:
            raise DecryptError("wrong ciphertext length")
        c = int.from_bytes(data, "big")
        if c >= self.n:
            raise DecryptError("ciphertext out of range")
        return pow(c, self.d, self.n).to_bytes(self.size, "big")

    def oaep_decrypt(self, data: bytes, hash_name: str = "sha256", mgf_hash: str = "sha256") -> bytes:
        """RSAES-OAEP-DECRYPT with an empty label (RFC 8017 7.1.2)."""
        em = self.raw_decrypt(data)
        h_len = hashlib.new(hash_name).digest_size
        if self.size < 2 * h_len + 2:
            raise DecryptError("key too small")
        masked_seed, masked_db = em[1 : 1 + h_len], em[1 + h_len :]
        seed = _xor(masked_seed, _mgf1(masked_db, h_len, mgf_hash))
        db = _xor(masked_db, _mgf1(seed, len(masked_db), mgf_hash))
        label_hash, rest = db[:h_len], db[h_len:]
        separator = rest.find(b"\x01")
        if (
            em[0] != 0
            or label_hash != hashlib.new(hash_name, b"").digest()
            or separator < 0
            or rest[:separator].strip(b"\x00")
        ):
            raise DecryptError("not OAEP")
        return rest[separator + 1 :]


def generate(bits: int = 2048) -> RsaKey:
    while True:
        p, q = _prime(bits // 2), _prime(bits - bits // 2)
        n = p * q
        if p != q and n.bit_length() == bits:
            return RsaKey(n=n, e=E, d=pow(E, -1, (p - 1) * (q - 1)))


def _mgf1(seed: bytes, length: int, hash_name: str) -> bytes:
    out = b""
    counter = 0
    while len(out) < length:
        out += hashlib.new(hash_name, seed + counter.to_bytes(4, "big")).digest()
        counter += 1
    return out[:length]


def _xor(a: bytes, b: bytes) -> bytes:
    return bytes(x ^ y for x, y in zip(a, b, strict=True))


def _der_len(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body


def _der(tag: int, body: bytes) -> bytes:
    return bytes([tag]) + _der_len(len(body)) + body


def _der_int(value: int) -> bytes:
    body = value.to_bytes(value.bit_length() // 8 + 1, "big")  # a leading 0 keeps it positive
    return _der(0x02, body)
