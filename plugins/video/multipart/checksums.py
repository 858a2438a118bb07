"""Part checksums: their shape, and the composite checksum S3 gives the assembled object.

S3's composite checksum of a multipart object is the digest (same algorithm) of the parts'
digests laid end to end, written `<base64>-<number of parts>`. Computing it from the
digests a client declared, and comparing with what S3 computed from the bytes, tells
whether the stored parts are the ones declared, also where a store checks no part's
checksum on upload (the emulator).
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Sequence

from plugins.video.models import CHECKSUM_PATTERNS
from plugins.video.multipart.models import ChecksumAlgorithm

_PATTERNS = {algorithm: re.compile(CHECKSUM_PATTERNS[algorithm.value])
             for algorithm in ChecksumAlgorithm}
_CRC32C_POLYNOMIAL = 0x82F63B78  # Castagnoli, reflected


def _crc32c_table() -> list[int]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ _CRC32C_POLYNOMIAL if crc & 1 else crc >> 1
        table.append(crc)
    return table


_CRC32C_TABLE = _crc32c_table()


def crc32c(data: bytes) -> int:
    """CRC-32C of `data`. Pure Python: meant for a few digests (4 bytes a part), not files."""
    crc = 0xFFFFFFFF
    for byte in data:
        crc = _CRC32C_TABLE[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def is_digest(algorithm: ChecksumAlgorithm, value: str) -> bool:
    """Whether `value` is the canonical base64 of a digest of `algorithm`."""
    return _PATTERNS[algorithm].fullmatch(value) is not None


def digest(algorithm: ChecksumAlgorithm, data: bytes) -> str:
    """The base64 digest S3 expects for a body of `data`."""
    if algorithm is ChecksumAlgorithm.SHA256:
        raw = hashlib.sha256(data).digest()
    else:
        raw = crc32c(data).to_bytes(4, "big")
    return base64.b64encode(raw).decode()


def composite(algorithm: ChecksumAlgorithm, part_digests: Sequence[str]) -> str:
    """S3's composite checksum of an object made of parts with these digests, in order."""
    joined = b"".join(base64.b64decode(value) for value in part_digests)
    return f"{digest(algorithm, joined)}-{len(part_digests)}"


def same_checksum(stored: str, expected: str) -> bool:
    """Whether S3's checksum of the object is `expected` (a composite one). Some stores
    write it without the `-<parts>` suffix."""
    return stored.split("-", 1)[0] == expected.split("-", 1)[0]

