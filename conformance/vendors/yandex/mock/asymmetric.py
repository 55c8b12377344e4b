"""Real asymmetric cryptography for the Yandex mock's asymmetric keys (``conformance/mocks/keypairs.py``).

Where are the algorithms?  ``ENCRYPTION`` and ``SIGNATURE``: every value of the protos'
AsymmetricEncryptionAlgorithm and AsymmetricSignatureAlgorithm enums (asymmetric_encryption_key.proto,
asymmetric_signature_key.proto) with its key size or curve and hash.  Decryption is RSA-OAEP with
SHA-256 for OAEP and MGF1; RSA signatures are PSS with MGF1 of the same hash and a salt as long as
the digest; ECDSA signatures are DER (ASN.1 SEQUENCE of r and s), as OpenSSL writes and reads them.
Keys travel as PKCS#8 DER bytes; public keys are answered as PEM SubjectPublicKeyInfo.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from typing import Any

from cryptography.hazmat.primitives import serialization

from conformance.mocks import keypairs
from conformance.vendors.yandex.mock.exceptions import ApiError

HASHES = {"SHA_256": "SHA256", "SHA_384": "SHA384", "SHA_512": "SHA512"}
# AsymmetricEncryptionAlgorithm -> RSA modulus bits
ENCRYPTION: dict[str, int] = {
    "RSA_2048_ENC_OAEP_SHA_256": 2048,
    "RSA_3072_ENC_OAEP_SHA_256": 3072,
    "RSA_4096_ENC_OAEP_SHA_256": 4096,
}
# AsymmetricSignatureAlgorithm -> (kind, RSA bits or curve name, hash name)
SIGNATURE: dict[str, tuple[str, Any, str]] = {
    **{
        f"RSA_{bits}_SIGN_PSS_{h}": ("rsa", bits, HASHES[h])
        for bits in (2048, 3072, 4096)
        for h in ("SHA_256", "SHA_384", "SHA_512")
    },
    "ECDSA_NIST_P256_SHA_256": ("ec", "SECP256R1", "SHA256"),
    "ECDSA_NIST_P384_SHA_384": ("ec", "SECP384R1", "SHA384"),
    "ECDSA_NIST_P521_SHA_512": ("ec", "SECP521R1", "SHA512"),
    "ECDSA_SECP256_K1_SHA_256": ("ec", "SECP256K1", "SHA256"),
}


def generate(algorithm: str) -> bytes:
    """A fresh private key for ``algorithm`` as PKCS#8 DER."""
    key: keypairs.PrivateKey
    if algorithm in ENCRYPTION:
        key = keypairs.rsa_key(ENCRYPTION[algorithm])
    else:
        kind, size, _ = SIGNATURE[algorithm]
        key = keypairs.rsa_key(size) if kind == "rsa" else keypairs.ec_key(_CURVES[size])
    return key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


# The protos' curve names -> keypairs' names.
_CURVES = {"SECP256R1": "P-256", "SECP384R1": "P-384", "SECP521R1": "P-521", "SECP256K1": "secp256k1"}


@lru_cache(maxsize=256)
def _load(der: bytes) -> Any:
    # Every DER here is one ``generate`` wrote.  Checking its RSA primes again proves nothing and
    # costs half a second for a 4096-bit key (70 ms for 2048): a run's GetPublicKey calls spent
    # more time on it than on anything else the mock does.
    return serialization.load_der_private_key(der, password=None, unsafe_skip_rsa_key_validation=True)


def public_pem(der: bytes) -> str:
    """The public half as PEM SubjectPublicKeyInfo (``-----BEGIN PUBLIC KEY-----``)."""
    return keypairs.public_pem(_load(der))


def decrypt(der: bytes, ciphertext: bytes) -> bytes:
    """RSA-OAEP (SHA-256, MGF1 SHA-256, no label); a ciphertext that does not open is code 3."""
    try:
        return keypairs.oaep_decrypt(_load(der), ciphertext)
    except keypairs.DecryptError:
        raise ApiError(3, "Ciphertext cannot be decrypted with this key") from None


def _hash_name(algorithm: str) -> str:
    return SIGNATURE[algorithm][2].lower()


def digest_size(algorithm: str) -> int:
    return hashlib.new(_hash_name(algorithm)).digest_size


def sign(der: bytes, algorithm: str, data: bytes, *, prehashed: bool) -> bytes:
    """A signature of ``data`` (the message, or its digest when ``prehashed``) with the key's algorithm."""
    name = _hash_name(algorithm)
    digest = data if prehashed else hashlib.new(name, data).digest()
    return keypairs.sign_digest(_load(der), "pss", name, digest)
