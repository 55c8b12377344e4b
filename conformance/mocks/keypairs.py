"""Asymmetric key pairs for the bundled mocks, on the ``cryptography`` package.

One place for what the mocks' asymmetric keys need: RSA and EC key pairs, public keys as PEM
SubjectPublicKeyInfo, signatures over a digest the caller computed (RSASSA-PKCS1-v1_5, RSASSA-PSS
with MGF1 of the same hash, ECDSA as DER ``Ecdsa-Sig-Value``) and RSAES-OAEP decryption -- so any
real client library verifies what a mock signs and a mock opens what a client wrapped.
"""

from __future__ import annotations

from functools import cache

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, utils

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
Scheme = str  # "pkcs1" or "pss" for RSA keys; EC keys always sign ECDSA

HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "sha1": hashes.SHA1,
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
}
CURVES: dict[str, type[ec.EllipticCurve]] = {
    "P-256": ec.SECP256R1,
    "P-384": ec.SECP384R1,
    "P-521": ec.SECP521R1,
    "secp256k1": ec.SECP256K1,
}


class DecryptError(ValueError):
    """A ciphertext the key does not open (wrong key, padding or length)."""


def _hash(name: str) -> hashes.HashAlgorithm:
    return HASHES[name.lower().replace("-", "").replace("_", "")]()


def rsa_key(bits: int) -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


@cache
def shared_rsa_key(bits: int) -> rsa.RSAPrivateKey:
    """One RSA key pair per size and process, for keys whose pairs need not differ (a mock's
    wrapping key, test keys); generating 4096-bit pairs for every key would cost seconds."""
    return rsa_key(bits)


def ec_key(curve: str) -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(CURVES[curve]())


def public_der(key: PrivateKey) -> bytes:
    return key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def public_pem(key: PrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode("ascii")
    )


def _pss(hash_name: str, *, signing: bool) -> padding.PSS:
    # A salt as long as the digest when signing (what KMS services use); any salt when verifying.
    salt = padding.PSS.DIGEST_LENGTH if signing else padding.PSS.AUTO
    return padding.PSS(mgf=padding.MGF1(_hash(hash_name)), salt_length=salt)


def sign_digest(key: PrivateKey, scheme: Scheme, hash_name: str, digest: bytes) -> bytes:
    """A signature over ``digest`` (already hashed with ``hash_name``)."""
    prehashed = utils.Prehashed(_hash(hash_name))
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return key.sign(digest, ec.ECDSA(prehashed))
    pad = _pss(hash_name, signing=True) if scheme == "pss" else padding.PKCS1v15()
    return key.sign(digest, pad, prehashed)


def verify_digest(key: PrivateKey, scheme: Scheme, hash_name: str, digest: bytes, signature: bytes) -> bool:
    """Whether ``signature`` is a valid signature of ``digest`` by ``key``; malformed ones are not."""
    prehashed = utils.Prehashed(_hash(hash_name))
    public = key.public_key()
    try:
        if isinstance(public, ec.EllipticCurvePublicKey):
            public.verify(signature, digest, ec.ECDSA(prehashed))
        else:
            pad = _pss(hash_name, signing=False) if scheme == "pss" else padding.PKCS1v15()
            public.verify(signature, digest, pad, prehashed)
    except (InvalidSignature, ValueError):
        return False
    return True


def oaep_decrypt(
    key: rsa.RSAPrivateKey, data: bytes, hash_name: str = "sha256", mgf_hash: str = "sha256"
) -> bytes:
    """RSAES-OAEP decryption with an empty label."""
    pad = padding.OAEP(mgf=padding.MGF1(_hash(mgf_hash)), algorithm=_hash(hash_name), label=None)
    try:
        return key.decrypt(data, pad)
    except ValueError as exc:
        raise DecryptError(str(exc) or "decryption failed") from None
