"""Ed25519 signatures: of returns files, and of the commands of authenticated actors.

A returns file's signature (scheme 2) signs a :class:`ReturnStatement`: the file's SHA-256
with the contract, periods and the provider's sequence number, so the ledger can re-verify
it later from what the events keep, without the file, and an old file cannot be
re-imported. Scheme 1 (the lowercase hex SHA-256 alone) verifies the events recorded under
it. An actor's key signs each event it records (:mod:`outcomeledger.domain.actors`).
Keys are PEM files (private: PKCS8; public: SubjectPublicKeyInfo) or, for a public key
registered in a contract, base64 of the raw 32 bytes.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Iterable

import msgspec
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


# -- keys as identities (authenticated actors) ------------------------------------------------

#: Hex digits of a key id: the first 16 of the SHA-256 of the raw 32-byte public key.
KEY_ID_LENGTH = 16


def key_id(public_key: str) -> str:
    """The id of a public key (base64 raw or PEM): the first 16 hex digits of the SHA-256
    of its raw 32 bytes. Raises :class:`SignatureError` when it is not an Ed25519 key."""
    raw = load_public_key(public_key).public_bytes(serialization.Encoding.Raw,
                                                   serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:KEY_ID_LENGTH]


def key_index(public_keys: Iterable[str]) -> dict[str, str]:
    """Key id -> public key of each of ``public_keys`` that can be read (one that cannot
    identifies no one: refused where it was declared, skipped where it is stored)."""
    found: dict[str, str] = {}
    for public_key in public_keys:
        try:
            found[key_id(public_key)] = public_key
        except SignatureError:
            continue
    return found


def private_key_bytes(pem: bytes) -> tuple[bytes, str]:
    """The raw 32-byte private key of a PEM file and its public key's id (raw bytes keep
    a command's meta picklable for import workers)."""
    key = load_private_key(pem)
    raw = key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                            serialization.NoEncryption())
    return raw, key_id(public_key_text(key.public_key()))


def sign_bytes(private_raw: bytes, data: bytes) -> str:
    """Base64 Ed25519 signature of ``data`` by the raw private key."""
    return base64.b64encode(Ed25519PrivateKey.from_private_bytes(private_raw).sign(data)
                            ).decode()


def verify_bytes(public_key: str, data: bytes, signature: str) -> None:
    """Raise :class:`SignatureError` unless ``signature`` (base64) signs ``data``."""
    key = load_public_key(public_key)
    if not signature.isascii():
        raise SignatureError("the signature is not base64")
    try:
        raw = base64.b64decode(signature.strip(), validate=True)
        key.verify(raw, data)
    except (ValueError, binascii.Error):
        raise SignatureError("the signature is not base64") from None
    except InvalidSignature:
        raise SignatureError("the signature does not verify") from None


# -- signed returns, scheme 2 -----------------------------------------------------------------

#: The signature schemes of returns files. 1: the file's SHA-256 alone (events recorded
#: under it keep verifying; new imports refuse it: it can be replayed); 2: a
#: :class:`ReturnStatement`.
RETURN_SCHEME_DIGEST = 1
RETURN_SCHEME_STATEMENT = 2


class ReturnStatement(msgspec.Struct, frozen=True, kw_only=True):
    """What a scheme-2 signature of a returns file signs, for one contract: the file's
    SHA-256, the contract, the periods of its rows for that contract and the provider's
    sequence number (which must increase with every file the ledger accepts from the
    provider, so an old file cannot come back). The signed bytes are this Struct's
    canonical JSON: keys sorted, no spaces, ``periods`` sorted, ``scheme`` 2."""

    contract: str
    periods: tuple[str, ...]
    sequence: int
    sha256: str
    scheme: int = RETURN_SCHEME_STATEMENT

    def message(self) -> bytes:
        return _canonical.encode(msgspec.structs.replace(
            self, periods=tuple(sorted(set(self.periods)))))


_canonical = msgspec.json.Encoder(order="sorted")


def sign_statement(key: Ed25519PrivateKey, statement: ReturnStatement) -> str:
    return base64.b64encode(key.sign(statement.message())).decode()


def verify_statement(public_key: str, statement: ReturnStatement, signature: str) -> None:
    """Raise :class:`SignatureError` unless ``signature`` signs ``statement``."""
    try:
        verify_bytes(public_key, statement.message(), signature)
    except SignatureError as e:
        if "does not verify" not in str(e):
            raise
        raise SignatureError("the signature does not match the file, its contract, periods "
                             "and sequence and the provider's key for the period") from None
