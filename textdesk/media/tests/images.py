"""Tiny but valid images, built byte by byte so that no test needs an image library."""

import struct
import zlib

# The smallest transparent GIF: 1x1, two colours.
GIF = bytes.fromhex(
    "47494638396101000100800000ffffff00000021f90401000000002c00000000010001000002024401003b"
)


def png(*, total_size: int | None = None) -> bytes:
    """A 1x1 grey PNG; with ``total_size``, padded to exactly that many bytes by a text chunk
    (still a valid PNG, just a big one)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0))
    pixels = chunk(b"IDAT", zlib.compress(b"\x00\x80"))
    end = chunk(b"IEND", b"")
    signature = b"\x89PNG\r\n\x1a\n"
    padding = b""
    if total_size is not None:
        filler = total_size - len(signature + header + pixels + end) - 12 - len(b"Comment\x00")
        assert filler >= 0, "too small to pad"
        padding = chunk(b"tEXt", b"Comment\x00" + b"x" * filler)
    image = signature + header + padding + pixels + end
    assert total_size is None or len(image) == total_size
    return image


def jpeg() -> bytes:
    """An 8x8 grey baseline JPEG: one block whose coefficients are all zero, coded with one-symbol
    Huffman tables (DC category 0 and AC end-of-block, each the one-bit code 0)."""

    def segment(marker: int, data: bytes) -> bytes:
        return struct.pack(">BBH", 0xFF, marker, len(data) + 2) + data

    one_code = bytes([1] + [0] * 15)  # one code of length 1
    return b"".join(
        [
            b"\xff\xd8",  # start of image
            segment(0xE0, b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"),
            segment(0xDB, b"\x00" + b"\x01" * 64),  # quantisation table 0: all ones
            segment(0xC0, struct.pack(">BHHB", 8, 8, 8, 1) + b"\x01\x11\x00"),  # 8x8, 1 component
            segment(0xC4, b"\x00" + one_code + b"\x00"),  # DC table 0: category 0
            segment(0xC4, b"\x10" + one_code + b"\x00"),  # AC table 0: end of block
            segment(0xDA, b"\x01\x01\x00\x00\x3f\x00"),  # scan: component 1, tables 0/0
            b"\x3f",  # bits 0 (DC diff 0) and 0 (EOB), padded with ones
            b"\xff\xd9",  # end of image
        ]
    )


JPEG = jpeg()
PNG = png()
