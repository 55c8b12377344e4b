"""Real asymmetric cryptography for the Yandex mock's asymmetric keys (the ``cryptography`` package).

Where are the algorithms?  ``ENCRYPTION`` and ``SIGNATURE``: every value of the protos'
AsymmetricEncryptionAlgorithm and AsymmetricSignatureAlgorithm enums (asymmetric_encryption_key.proto,
asymmetric_signature_key.proto) with its key size or curve and hash.  Decryption is RSA-OAEP with
SHA-256 for OAEP and MGF1; RSA signatures are PSS with MGF1 of the same hash and a salt as long as
the digest; ECDSA signatures are DER (ASN.1 SEQUENCE of r and s), as OpenSSL writes and reads them.
Keys travel as PKCS#8 DER bytes; public keys are answered as PEM SubjectPublicKeyInfo.
"""

from __future__ import annotations

import importlib
from functools import lru_cache
from types import SimpleNamespace
from typing import Any

from conformance.vendors.yandex.mock.exceptions import ApiError

# ``cryptography`` is not a dependency of the package (yandexcloud, a test extra, brings it), so it is
# imported by name when first needed; without it the asymmetric crypto calls answer 501 (code 12).


@lru_cache(maxsize=1)
def _modules() -> SimpleNamespace | None:
    try:
        return SimpleNamespace(
            exceptions=importlib.import_module("cryptography.exceptions"),
            hashes=importlib.import_module("cryptography.hazmat.primitives.hashes"),
            serialization=importlib.import_module("cryptography.hazmat.primitives.serialization"),
            ec=importlib.import_module("cryptography.hazmat.primitives.asymmetric.ec"),
            padding=importlib.import_module("cryptography.hazmat.primitives.asymmetric.padding"),
            rsa=importlib.import_module("cryptography.hazmat.primitives.asymmetric.rsa"),
            utils=importlib.import_module("cryptography.hazmat.primitives.asymmetric.utils"),
        )
    except ImportError:
        return None


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


def available() -> bool:
    return _modules() is not None


def _need() -> SimpleNamespace:
    found = _modules()
    if found is None:
        raise ApiError(12, "Asymmetric cryptography is not available in this mock")
    return found


def generate(algorithm: str) -> bytes:
    """A fresh private key for ``algorithm`` as PKCS#8 DER."""
    c = _need()
    serialization = c.serialization
    key: Any
    if algorithm in ENCRYPTION:
        key = c.rsa.generate_private_key(public_exponent=65537, key_size=ENCRYPTION[algorithm])
    else:
        kind, size, _ = SIGNATURE[algorithm]
        if kind == "rsa":
            key = c.rsa.generate_private_key(public_exponent=65537, key_size=size)
        else:
            key = c.ec.generate_private_key(getattr(c.ec, size)())
    return bytes(
        key.private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )


@lru_cache(maxsize=256)
def _load(der: bytes) -> Any:
    return _need().serialization.load_der_private_key(der, password=None)


def public_pem(der: bytes) -> str:
    """The public half as PEM SubjectPublicKeyInfo (``-----BEGIN PUBLIC KEY-----``)."""
    serialization = _need().serialization
    return (
        _load(der)
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def decrypt(der: bytes, ciphertext: bytes) -> bytes:
    """RSA-OAEP (SHA-256, MGF1 SHA-256, no label); a ciphertext that does not open is code 3."""
    c = _need()
    sha256 = c.hashes.SHA256()
    oaep = c.padding.OAEP(mgf=c.padding.MGF1(sha256), algorithm=sha256, label=None)
    try:
        return bytes(_load(der).decrypt(ciphertext, oaep))
    except (ValueError, c.exceptions.UnsupportedAlgorithm):
        raise ApiError(3, "Ciphertext cannot be decrypted with this key") from None


def _hash(algorithm: str) -> Any:
    return getattr(_need().hashes, SIGNATURE[algorithm][2])()


def digest_size(algorithm: str) -> int:
    return int(_hash(algorithm).digest_size)


def sign(der: bytes, algorithm: str, data: bytes, *, prehashed: bool) -> bytes:
    """A signature of ``data`` (the message, or its digest when ``prehashed``) with the key's algorithm."""
    c = _need()
    h = _hash(algorithm)
    chosen: Any = c.utils.Prehashed(h) if prehashed else h
    key = _load(der)
    if SIGNATURE[algorithm][0] == "rsa":
        pss = c.padding.PSS(mgf=c.padding.MGF1(h), salt_length=c.padding.PSS.DIGEST_LENGTH)
        return bytes(key.sign(data, pss, chosen))
    return bytes(key.sign(data, c.ec.ECDSA(chosen)))
