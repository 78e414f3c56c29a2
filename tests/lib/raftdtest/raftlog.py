"""raftlog.py: reads and forges raftlog records (docs/RAFTLOG-FORMAT.md) for the torn-tail tests and the torn nemesis.

common/raftlog.c is the real reader; this one parses lengths only (no
checksums), enough to find the record boundaries of a valid file, and
builds valid ENTRY records to append.
"""
import struct

from raftdtest.errors import TestFailure

HEADER = 32
MAGIC = b"RAFTDLOG"
REC_ENTRY = 1
REC_COMMIT = 2
REC_BASE = 3     # a compacted log's first record: the entry before it


def _crc32c_table():
    table = []
    for i in range(256):
        crc = i
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
        table.append(crc)
    return table


_CRC32C = _crc32c_table()


def crc32c(data):
    """CRC-32C (Castagnoli), as the raftlog uses it."""
    crc = 0xFFFFFFFF
    for b in data:
        crc = _CRC32C[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def entry_record(index, term, etype, payload):
    """One valid ENTRY record (with its checksum and padding)."""
    body = struct.pack("<QQB", index, term, etype) + payload
    rest = struct.pack("<IB7x", len(body), REC_ENTRY) + body
    rest += b"\0" * ((-(4 + len(rest))) % 8)
    return struct.pack("<I", crc32c(rest)) + rest


def records(path):
    """The complete records of a raftlog as a list of dicts {offset, size,
    type, and index and term (ENTRY) or commit (COMMIT)}.  A record cut
    short by the end of the file is left out.  Raises TestFailure when the
    file does not start with the magic."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:8] != MAGIC:
        raise TestFailure("%s: bad magic %r" % (path, data[:8]))
    recs = []
    off = HEADER
    for _ in range(len(data) // 8 + 1):
        if off + 16 > len(data):
            break
        (length,) = struct.unpack_from("<I", data, off + 4)
        rtype = data[off + 8]
        size = 16 + length
        size += (-size) % 8
        if off + size > len(data):
            break
        rec = {"offset": off, "size": size, "type": rtype}
        if rtype == REC_ENTRY and length >= 17:
            rec["index"], rec["term"] = struct.unpack_from("<QQ", data,
                                                           off + 16)
        elif rtype == REC_COMMIT and length >= 8:
            (rec["commit"],) = struct.unpack_from("<Q", data, off + 16)
        elif rtype == REC_BASE and length >= 16:
            rec["base_index"], rec["base_term"] = struct.unpack_from(
                "<QQ", data, off + 16)
        recs.append(rec)
        off += size
    return recs


def entries(path):
    """The ENTRY records of records(path)."""
    return [r for r in records(path) if r["type"] == REC_ENTRY]
