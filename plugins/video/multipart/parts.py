"""Part-size arithmetic within S3's multipart limits.

S3: at most 10,000 parts, each 5 MiB to 5 GiB except the last (which may be smaller), and
an object of at most 5 TiB. The part size is the smallest of 8 MiB, 16 MiB, 32 MiB, …
(doubling) that keeps the count within 10,000: round sizes a client can show, and a
count that stays small for the sizes people upload (a 4 GiB file is 512 parts of 8 MiB).
A client may choose its own part size instead (small parts on a bad network, big ones from
a server): any whole number of MiB within S3's limits.
"""

from __future__ import annotations

MIB = 1024**2
GIB = 1024**3
MIN_PART_BYTES = 5 * MIB
MAX_PART_BYTES = 5 * GIB
MAX_PARTS = 10_000
MAX_OBJECT_BYTES = 5 * 1024**4
SMALLEST_PART_SIZE = 8 * MIB


def part_size_for(size_bytes: int) -> int:
    """The part size of an upload of `size_bytes` (1 to 5 TiB)."""
    if not 1 <= size_bytes <= MAX_OBJECT_BYTES:
        raise ValueError(f"size_bytes must be between 1 and {MAX_OBJECT_BYTES}")
    part_size = SMALLEST_PART_SIZE
    while part_count(size_bytes, part_size) > MAX_PARTS:
        part_size *= 2
    assert MIN_PART_BYTES <= part_size <= MAX_PART_BYTES
    return part_size


def smallest_part_size(size_bytes: int) -> int:
    """The smallest whole-MiB part size that cuts `size_bytes` into at most 10,000 parts."""
    needed = max(MIN_PART_BYTES, -(-size_bytes // MAX_PARTS))
    return -(-needed // MIB) * MIB


def part_size_problem(size_bytes: int, part_size: int) -> str | None:
    """Why a client's `part_size` cannot cut an upload of `size_bytes`; None when it can."""
    smallest = smallest_part_size(size_bytes)
    if part_size % MIB == 0 and smallest <= part_size <= MAX_PART_BYTES:
        return None
    return (f"must be a whole number of MiB from {smallest} to {MAX_PART_BYTES} bytes "
            f"({smallest // MIB} to {MAX_PART_BYTES // MIB} MiB): at least 5 MiB, at most "
            f"5 GiB, and at most {MAX_PARTS:,} parts for this size")


def part_count(size_bytes: int, part_size: int) -> int:
    return -(-size_bytes // part_size)


def part_bytes(number: int, size_bytes: int, part_size: int) -> int:
    """The size of part `number` (from 1): `part_size`, or what is left for the last."""
    count = part_count(size_bytes, part_size)
    if not 1 <= number <= count:
        raise ValueError(f"part number must be between 1 and {count}")
    return min(part_size, size_bytes - (number - 1) * part_size)
