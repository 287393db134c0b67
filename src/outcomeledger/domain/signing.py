"""Signed returns: Ed25519 detached signatures over a returns file's SHA-256.

The provider signs the lowercase hex SHA-256 of the file's bytes (hash-then-sign), so
the ledger can re-verify a signature later from the digest and signature kept on the
events, without the file. Keys are PEM files (private: PKCS8; public: SubjectPublicKeyInfo)
or, for the public key registered in a contract, base64 of the raw 32 bytes.
"""

from __future__ import annotations

import base64
import binascii

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey


class SignatureError(ValueError):
    """A key or signature that cannot be used, or a signature that does not verify."""


def new_private_key_pem() -> tuple[bytes, str]:
    """A new private key (PEM) and its public key as base64 raw bytes."""
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    return pem, public_key_text(key.public_key())


def public_key_text(key: Ed25519PublicKey) -> str:
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode()


def load_private_key(pem: bytes) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError) as e:
        raise SignatureError(f"not an unencrypted PEM private key ({e})") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise SignatureError("the key is not an Ed25519 key")
    return key


def load_public_key(text: str) -> Ed25519PublicKey:
    """A public key from base64 raw bytes or a PEM block."""
    stripped = text.strip()
    try:
        if stripped.startswith("-----BEGIN"):
            key = serialization.load_pem_public_key(stripped.encode())
            if not isinstance(key, Ed25519PublicKey):
                raise SignatureError("the public key is not an Ed25519 key")
            return key
        return Ed25519PublicKey.from_public_bytes(base64.b64decode(stripped, validate=True))
    except (ValueError, binascii.Error) as e:
        raise SignatureError(f"not an Ed25519 public key ({e})") from None


def sign_digest(key: Ed25519PrivateKey, sha256_hex: str) -> str:
    return base64.b64encode(key.sign(sha256_hex.encode())).decode()


def verify_digest(public_key: str, sha256_hex: str, signature: str) -> None:
    """Raise :class:`SignatureError` unless ``signature`` signs ``sha256_hex``."""
    key = load_public_key(public_key)
    try:
        raw = base64.b64decode(signature.strip(), validate=True)
    except (ValueError, binascii.Error):
        raise SignatureError("the signature is not base64") from None
    try:
        key.verify(raw, sha256_hex.encode())
    except InvalidSignature:
        raise SignatureError("the signature does not match the file and the provider's "
                             "registered key") from None
