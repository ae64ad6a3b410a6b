"""Helpers of the hostile-input suite (tests/hostile)."""

from __future__ import annotations

from dlcore.errors import UserError


def assert_refusal(exc: UserError, *words: str) -> None:
    """A refusal the person can act on: received, 'Expected …', 'Fix: …', and the given words."""
    message = exc.message
    assert exc.received and exc.expected and exc.fix, message
    assert "Expected" in message and "Fix:" in message, message
    for word in words:
        assert word.lower() in message.lower(), (word, message)


def zero_bomb_zip(members: dict[str, tuple[bytes, int]]) -> bytes:
    """A ZIP whose members are ``prefix`` followed by ``megabytes`` MB of zeros, deflated in
    milliseconds: one compressed megabyte of zeros (after a full flush, so it stands alone) is
    repeated. The directory states the true sizes, as a real decompression bomb does."""
    import struct
    import zlib

    mb = bytes(1 << 20)
    block = zlib.compressobj(9, zlib.DEFLATED, -15)
    zero_block = block.compress(mb) + block.flush(zlib.Z_FULL_FLUSH)
    out, directory = bytearray(), bytearray()
    for name, (prefix, megabytes) in members.items():
        head = zlib.compressobj(9, zlib.DEFLATED, -15)
        data = bytearray(head.compress(prefix) + head.flush(zlib.Z_FULL_FLUSH))
        data += zero_block * megabytes
        tail = zlib.compressobj(9, zlib.DEFLATED, -15)
        data += tail.compress(b"") + tail.flush(zlib.Z_FINISH)
        crc = zlib.crc32(prefix)
        for _ in range(megabytes):
            crc = zlib.crc32(mb, crc)
        size = len(prefix) + megabytes * len(mb)
        encoded = name.encode()
        offset = len(out)
        fields = (20, 0, 8, 0, 0x21, crc & 0xFFFFFFFF, len(data), size, len(encoded), 0)
        out += struct.pack("<IHHHHHIIIHH", 0x04034B50, *fields) + encoded + data
        directory += (
            struct.pack("<IH", 0x02014B50, 20)
            + struct.pack("<HHHHHIIIHH", *fields)
            + struct.pack("<HHHII", 0, 0, 0, 0, offset)
            + encoded
        )
    count = len(members)
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, count, count, len(directory), len(out), 0)
    return bytes(out + directory + end)
