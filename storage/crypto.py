"""Field encryption at rest: phone, email, what reps wrote, and the change log's copies of them.

With FIELD_ENCRYPTION_KEY set, those columns hold "enc1:<key id>:<base64(nonce + AES-GCM
ciphertext)>" instead of the text. Each value is bound to its column (the column's name is the
associated data), so a value copied into another column no longer decrypts. Phone and email also
get a lookup hash (HMAC-SHA256) in a column beside them: exact lookups and the unique indexes
work on the hash, since two encryptions of one number never look alike.

Without a key, values are stored as they are and the hash is a plain SHA-256, so the hash
columns are always there and always what lookups use; `followup-bot rotate-key` moves a
database from one state to another (clear → key, key → key, key → clear).

The cipher is process-wide: the app factory and the command line set it from Settings with
`configure()`; the column types below read it on every write and read.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import JSON, Dialect, Text, TypeDecorator
from sqlalchemy.sql import operators
from sqlalchemy.sql.elements import ClauseElement, ColumnElement

KEY_BYTES: Final = 32
NONCE_BYTES: Final = 12
PREFIX: Final = "enc1"
MAKE_A_KEY: Final = (
    'python -c "import secrets,base64;'
    'print(base64.urlsafe_b64encode(secrets.token_bytes(32)).decode())"'
)
_ENCRYPTED: Final = re.compile(r"^enc1:([0-9a-f]{8}):([A-Za-z0-9_-]+={0,2})$")
_ENCRYPTION_INFO: Final = b"followup-bot field encryption"
_LOOKUP_INFO: Final = b"followup-bot lookup hash"
_KEY_ID_INFO: Final = b"followup-bot key id"


class FieldCryptoError(Exception):
    """A stored value can't be read with the keys configured; the message says what to do."""


def new_key() -> str:
    """A fresh key as FIELD_ENCRYPTION_KEY takes it: base64url of 32 random bytes."""
    return base64.urlsafe_b64encode(os.urandom(KEY_BYTES)).decode()


def parse_key(text: str) -> bytes:
    """The 32 key bytes from their base64url text; ValueError (never echoing the key) if not."""
    cleaned = text.strip()
    try:
        raw = base64.urlsafe_b64decode(cleaned + "=" * (-len(cleaned) % 4))
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != KEY_BYTES:
        raise ValueError(
            f"must be {KEY_BYTES} random bytes in base64url (44 characters); "
            f"make one with `followup-bot new-key` or {MAKE_A_KEY}"
        )
    return raw


def _derive(master: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=None, info=info).derive(master)


@dataclass(frozen=True)
class FieldKey:
    """One master key's subkeys: one encrypts, one hashes; the id names it in stored values."""

    key_id: str
    encryption: bytes
    lookup: bytes

    @classmethod
    def from_text(cls, text: str) -> FieldKey:
        master = parse_key(text)
        return cls(
            key_id=_derive(master, _KEY_ID_INFO)[:4].hex(),
            encryption=_derive(master, _ENCRYPTION_INFO),
            lookup=_derive(master, _LOOKUP_INFO),
        )

    def __repr__(self) -> str:  # never the key material, in a log or a traceback
        return f"FieldKey(key_id={self.key_id!r})"


def is_encrypted(value: str) -> bool:
    return _ENCRYPTED.match(value) is not None


def key_id_of(value: str) -> str | None:
    """The id of the key a stored value is encrypted with; None for clear text."""
    found = _ENCRYPTED.match(value)
    return found.group(1) if found else None


class FieldCipher:
    """Encrypts with the current key (or not at all without one) and decrypts with any
    configured key, current or old, picking it by the key id stored with the value."""

    def __init__(self, current: FieldKey | None = None, old: Iterable[FieldKey] = ()) -> None:
        self.current = current
        self._keys = {key.key_id: key for key in old}
        if current is not None:
            self._keys[current.key_id] = current

    @classmethod
    def from_keys(cls, current: str | None, old: Iterable[str] = ()) -> FieldCipher:
        return cls(
            FieldKey.from_text(current) if current else None,
            [FieldKey.from_text(text) for text in old],
        )

    @property
    def key_id(self) -> str | None:
        """The current key's id; None when values are stored in clear text."""
        return self.current.key_id if self.current else None

    @property
    def known_key_ids(self) -> frozenset[str]:
        return frozenset(self._keys)

    def encrypt(self, value: str, column: str) -> str:
        """`value` as `column` stores it. Empty text stays empty: there is nothing to hide."""
        if self.current is None or value == "":
            return value
        nonce = os.urandom(NONCE_BYTES)
        sealed = AESGCM(self.current.encryption).encrypt(nonce, value.encode(), column.encode())
        text = base64.urlsafe_b64encode(nonce + sealed).decode()
        return f"{PREFIX}:{self.current.key_id}:{text}"

    def decrypt(self, stored: str, column: str) -> str:
        found = _ENCRYPTED.match(stored)
        if found is None:
            return stored  # written before encryption was turned on
        key_id, text = found.groups()
        key = self._keys.get(key_id)
        if key is None:
            raise FieldCryptoError(
                f"{column} holds data encrypted with key id {key_id}, which is not configured: "
                "set that key as FIELD_ENCRYPTION_KEY (or in FIELD_ENCRYPTION_OLD_KEYS and run "
                "`followup-bot rotate-key`)"
            )
        try:
            blob = base64.urlsafe_b64decode(text)
            plain = AESGCM(key.encryption).decrypt(
                blob[:NONCE_BYTES], blob[NONCE_BYTES:], column.encode()
            )
        except (InvalidTag, ValueError):  # binascii.Error is a ValueError
            raise FieldCryptoError(
                f"a value in {column} fails its integrity check (damaged, or moved from "
                "another column)"
            ) from None
        return plain.decode()

    def is_current(self, stored: str) -> bool:
        """True when `stored` is already what this cipher would write (no re-encryption due)."""
        if stored == "":
            return True
        return key_id_of(stored) == self.key_id

    def lookup_hash(self, value: str) -> str:
        """What phone_hash / email_hash hold: HMAC-SHA256 with the key, plain SHA-256 without."""
        if self.current is None:
            return hashlib.sha256(value.encode()).hexdigest()
        return hmac.new(self.current.lookup, value.encode(), hashlib.sha256).hexdigest()


_CLEAR: Final = FieldCipher()
_cipher: FieldCipher = _CLEAR


def configure(cipher: FieldCipher | None) -> None:
    """Set the process-wide cipher; None stores clear text (and is what tests reset to)."""
    global _cipher
    _cipher = cipher or _CLEAR


def lookup_hash(value: str) -> str:
    return _cipher.lookup_hash(value)


# --- column types ----------------------------------------------------------------------------

# Comparing a column that holds random-nonce ciphertext with a value can never match; a query
# that tries is a bug (it would work without a key and silently fail with one). Compare the
# lookup hash instead.
_UNSUPPORTED: Final = frozenset({operators.eq, operators.ne, operators.in_op, operators.not_in_op})


def _is_null_or_sql(operand: Any) -> bool:
    return (
        operand is None
        or isinstance(operand, ClauseElement)
        or hasattr(operand, "__clause_element__")
    )


class _NoValueComparison(TypeDecorator.Comparator[Any]):
    def operate(self, op: Any, *other: Any, **kwargs: Any) -> ColumnElement[Any]:
        # A Python value is refused; None (IS NULL) and SQL expressions (SQLAlchemy itself
        # compares columns with ==) are let through.
        if op in _UNSUPPORTED and not all(map(_is_null_or_sql, other)):
            raise TypeError(
                f"{self.expr} is encrypted at rest and can't be compared in SQL; "
                "compare its lookup hash (e.g. Customer.phone_hash == lookup_hash(value))"
            )
        return super().operate(op, *other, **kwargs)


class EncryptedText(TypeDecorator[str]):
    """Text encrypted with the process cipher; `column` ("table.column") is the associated data."""

    impl = Text
    cache_ok = True
    comparator_factory = _NoValueComparison

    def __init__(self, column: str) -> None:
        super().__init__()
        self.column = column

    def to_stored(self, value: str | None, cipher: FieldCipher) -> str | None:
        return None if value is None else cipher.encrypt(value, self.column)

    def from_stored(self, stored: str | None, cipher: FieldCipher) -> str | None:
        return None if stored is None else cipher.decrypt(stored, self.column)

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        return self.to_stored(value, _cipher)

    def process_result_value(self, value: str | None, dialect: Dialect) -> str | None:
        return self.from_stored(value, _cipher)


class EncryptedJSON(TypeDecorator[Any]):
    """JSON whose document is encrypted as one string (still valid JSON, so the column type
    stays JSON and rows written in clear read back as they are)."""

    impl = JSON
    cache_ok = True
    comparator_factory = _NoValueComparison

    def __init__(self, column: str) -> None:
        super().__init__()
        self.column = column

    def to_stored(self, value: Any, cipher: FieldCipher) -> Any:
        if value is None or cipher.current is None:
            return value
        return cipher.encrypt(json.dumps(value, ensure_ascii=False), self.column)

    def from_stored(self, stored: Any, cipher: FieldCipher) -> Any:
        if isinstance(stored, str) and is_encrypted(stored):
            return json.loads(cipher.decrypt(stored, self.column))
        return stored

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        return self.to_stored(value, _cipher)

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        return self.from_stored(value, _cipher)


EncryptedType = EncryptedText | EncryptedJSON


def is_current(stored: Any, cipher: FieldCipher) -> bool:
    """True when a stored value (either type) is what `cipher` would write: no rewrite due."""
    if isinstance(stored, str):
        return cipher.is_current(stored)
    return stored is None or cipher.current is None  # a JSON document in clear
