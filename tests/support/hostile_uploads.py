"""Hostile uploads beyond tests/support/images.py: files that pretend to be photos,
polyglots that are photos and something else at once, and headers that lie about size.

Every generator is deterministic and small (a bomb is a few kilobytes at most), so a
test can build a whole table of them in well under a second.
"""

from __future__ import annotations

import gzip
import io
import struct
import zipfile
import zlib
from collections.abc import Callable

from snapscale.core.photos.sniffing import CORRUPT, EMPTY, HEIC_UNSUPPORTED, UNSUPPORTED
from tests.support import images

Make = Callable[[], bytes]

# What a browser would run if it ever rendered one of these files as a page.
SCRIPT = b"<script>alert(document.domain)</script>"
HTML_PAGE = b"<!DOCTYPE html><html><body>" + SCRIPT + b"</body></html>"
ZIP_MEMBER = "payload.txt"
ZIP_TEXT = b"unzipped from inside a photo"


# Files that are not photos at all, whatever their name and declared type.


def html_with_bom() -> bytes:
    return b"\xef\xbb\xbf  \n" + HTML_PAGE


def xhtml() -> bytes:
    return (
        b'<?xml version="1.0"?><html xmlns="http://www.w3.org/1999/xhtml"><body>'
        + SCRIPT
        + b"</body></html>"
    )


def svgz() -> bytes:
    """A gzipped SVG with a script: browsers inflate it when served as image/svg+xml."""
    return gzip.compress(images.svg(), mtime=0)


def javascript() -> bytes:
    return b"fetch('/api/v1/users/me').then(r => r.text()).then(alert);\n"


def php() -> bytes:
    return b"<?php system($_GET['c']); ?>\n"


def gif_with_script() -> bytes:
    """GIF89a magic then JavaScript: a GIF to a picture viewer, a script to a <script src>."""
    return b"GIF89a/*\x00\x00\x00\x00*/=1;" + javascript()


def windows_exe() -> bytes:
    return b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 52 + b"PE\x00\x00" + b"\x00" * 64


def elf() -> bytes:
    return b"\x7fELF\x02\x01\x01" + b"\x00" * 57


def html_then_jpeg() -> bytes:
    """A page first, a photo after it: sniffed by its first bytes, it is a page."""
    return HTML_PAGE + images.jpeg(32, 32)


def fake_jpeg_wrapping_html() -> bytes:
    """The JPEG start and end markers around a page: looks complete, decodes as nothing."""
    return b"\xff\xd8\xff" + HTML_PAGE + b"\xff\xd9"


# Real photos carrying something else: accepted only if the payload cannot survive.


def jpeg_with_html_after_the_end() -> bytes:
    return images.jpeg(64, 48) + HTML_PAGE


def png_with_html_after_the_end() -> bytes:
    return images.png(64, 48) + HTML_PAGE


def webp_with_html_after_the_end() -> bytes:
    """Appended after the RIFF container; the RIFF size no longer matches the file."""
    return images.webp(64, 48) + HTML_PAGE


def png_with_html_in_a_text_chunk() -> bytes:
    """A real PNG whose tEXt chunk is a page with a script: accepted, re-encoded."""
    return _png_with_chunk(images.png(64, 48), b"tEXt", b"Comment\x00" + HTML_PAGE)


def jpeg_with_pdf_in_a_comment() -> bytes:
    """A JPEG whose comment holds a PDF header: PDF readers look for %PDF near the start."""
    pdf = b"%PDF-1.4\n1 0 obj<</Type/Catalog/OpenAction<</S/JavaScript/JS(app.alert(1))>>>>endobj"
    return _jpeg_with_comment(images.jpeg(64, 48), pdf)


def jpeg_with_zip_in_a_comment() -> bytes:
    """A JPEG that is also a valid ZIP and still ends with its EOI marker.

    The archive sits in a comment segment; its end-of-central-directory record declares
    the rest of the JPEG (scan data and EOI) as the archive's comment, so unzip tools
    find the archive and the JPEG ends as JPEGs must."""
    photo = images.jpeg(64, 48)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr(ZIP_MEMBER, ZIP_TEXT)
    archive_bytes = bytearray(buffer.getvalue())
    # The archive's offsets count from the start of the file it ends up in.
    comment_start = 2 + 4  # after SOI, then the COM marker and length
    _shift_zip_offsets(archive_bytes, comment_start)
    tail = photo[2:]
    struct.pack_into(">H", archive_bytes, len(archive_bytes) - 2, len(tail))
    return _jpeg_with_comment(photo, bytes(archive_bytes))


# Decompression bombs: tiny files whose headers announce enormous pictures.


def webp_bomb(width: int = 16_383, height: int = 16_383) -> bytes:
    """A real lossy WebP whose VP8 frame header claims width x height pixels."""
    data = bytearray(images.webp(16, 16))
    frame = data.index(b"VP8 ") + 8
    start_code = frame + 3
    if data[start_code : start_code + 3] != b"\x9d\x01\x2a":
        raise ValueError("not a lossy VP8 frame")
    struct.pack_into("<HH", data, start_code + 3, width, height)
    return bytes(data)


def webp_canvas_bomb(width: int = 16_384, height: int = 16_384) -> bytes:
    """A small WebP frame inside an extended (VP8X) header that declares a huge canvas."""
    chunks = images.webp(16, 16)[12:]
    canvas = (width - 1).to_bytes(3, "little") + (height - 1).to_bytes(3, "little")
    body = b"WEBP" + b"VP8X" + struct.pack("<I", 10) + b"\x00" * 4 + canvas + chunks
    return b"RIFF" + struct.pack("<I", len(body)) + body


def png_one_row_bomb() -> bytes:
    """A single row of 100 million pixels: under every per-side limit a decoder might
    check, twice the area limit, and 69 bytes on the wire."""
    return _tiny_png(100_000_000, 1)


def png_metadata_bomb(kind: bytes = b"zTXt", inflated_mb: int = 512) -> bytes:
    """A 16 x 16 PNG with a compressed text (zTXt, iTXt) or ICC (iCCP) chunk that inflates
    to ``inflated_mb`` megabytes of zeros: half a megabyte on the wire."""
    prefix = {
        b"zTXt": b"Comment\x00\x00",
        b"iCCP": b"icc\x00\x00",
        b"iTXt": b"XML:com.adobe.xmp\x00\x01\x00\x00\x00",
    }[kind]
    return _png_with_chunk(images.png(16, 16), kind, prefix + _zeros_deflated(inflated_mb << 20))


# Files that pass the request's checks but cannot be decoded: they end "failed".


def png_with_corrupt_pixels() -> bytes:
    """Header, chunk CRCs and IEND all correct; the compressed pixel stream is noise."""
    data = images.png(64, 48)
    start = data.index(b"IDAT") - 4
    (length,) = struct.unpack_from(">I", data, start)
    end = start + 12 + length
    noise = bytes(b ^ 0x5A for b in data[start + 8 : start + 8 + length])
    return data[:start] + images._chunk(b"IDAT", noise) + data[end:]


def webp_with_corrupt_pixels() -> bytes:
    """A lossy WebP with a correct container and frame header, and its bitstream inverted."""
    data = bytearray(images.webp(64, 48))
    first_partition = data.index(b"VP8 ") + 8 + 10
    for i in range(first_partition, len(data)):
        data[i] ^= 0xFF
    return bytes(data)


def multipart(
    boundary: str,
    *,
    fields: dict[str, bytes],
    file_params: bytes,
    data: bytes,
    content_type: bytes = b"image/jpeg",
) -> bytes:
    """A multipart body with text fields and one part named "file", built by hand so that
    any bytes at all can go into the file part's Content-Disposition parameters."""
    delimiter = f"--{boundary}\r\n".encode()
    body = b"".join(
        delimiter
        + f'Content-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
        + value
        + b"\r\n"
        for name, value in fields.items()
    )
    return (
        body
        + delimiter
        + b'Content-Disposition: form-data; name="file"; '
        + file_params
        + b"\r\nContent-Type: "
        + content_type
        + b"\r\n\r\n"
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )


def _zeros_deflated(size: int) -> bytes:
    """A zlib stream of ``size`` zero bytes (a multiple of 1 MiB), made in milliseconds.

    After a full flush the compressor forgets everything, so every further megabyte of
    zeros compresses to the same bytes: compress two, repeat the second, and end with
    the checksum of the whole (Adler-32 of n zeros is n mod 65521 in the high half, 1 in
    the low)."""
    megabyte = b"\x00" * (1 << 20)
    compressor = zlib.compressobj(9)
    first = compressor.compress(megabyte) + compressor.flush(zlib.Z_FULL_FLUSH)
    repeated = compressor.compress(megabyte) + compressor.flush(zlib.Z_FULL_FLUSH)
    final_block = compressor.flush()[:-4]
    checksum = struct.pack(">I", (size % 65521) << 16 | 1)
    return first + repeated * ((size >> 20) - 1) + final_block + checksum


def _tiny_png(width: int, height: int) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + images._chunk(b"IHDR", ihdr)
        + images._chunk(b"IDAT", zlib.compress(b"\x00" * 64, 9))
        + images._chunk(b"IEND", b"")
    )


def _png_with_chunk(png: bytes, kind: bytes, body: bytes) -> bytes:
    after_header = 8 + 25  # the signature, then IHDR (always first, always 25 bytes)
    return png[:after_header] + images._chunk(kind, body) + png[after_header:]


def _jpeg_with_comment(jpeg: bytes, payload: bytes) -> bytes:
    if len(payload) + 2 > 0xFFFF:
        raise ValueError("a JPEG segment holds at most 65533 bytes")
    return jpeg[:2] + b"\xff\xfe" + struct.pack(">H", len(payload) + 2) + payload + jpeg[2:]


def _shift_zip_offsets(archive: bytearray, by: int) -> None:
    """Move every offset in a one-member stored ZIP (as zipfile writes it) by ``by``."""
    end = archive.rindex(b"PK\x05\x06")
    (directory_offset,) = struct.unpack_from("<I", archive, end + 16)
    struct.pack_into("<I", archive, end + 16, directory_offset + by)
    (local_header,) = struct.unpack_from("<I", archive, directory_offset + 42)
    struct.pack_into("<I", archive, directory_offset + 42, local_header + by)


# Tables of cases, shared by the API's and the site's tests. A test tries every row of a
# table in turn (a refusal costs milliseconds; a test of its own would cost a server and
# an account), naming the row in each assertion.

# Not a whole photo, whatever it is called: (name, make, status, the problem's detail).
NOT_PHOTOS: list[tuple[str, Make, int, str]] = [
    ("svg-with-script", images.svg, 415, UNSUPPORTED),
    ("svgz", svgz, 415, UNSUPPORTED),
    ("html", images.html, 415, UNSUPPORTED),
    ("html-with-bom", html_with_bom, 415, UNSUPPORTED),
    ("xhtml", xhtml, 415, UNSUPPORTED),
    ("javascript", javascript, 415, UNSUPPORTED),
    ("php", php, 415, UNSUPPORTED),
    ("pdf", images.pdf, 415, UNSUPPORTED),
    ("zip", images.zip_archive, 415, UNSUPPORTED),
    ("gif-with-script", gif_with_script, 415, UNSUPPORTED),
    ("windows-exe", windows_exe, 415, UNSUPPORTED),
    ("elf", elf, 415, UNSUPPORTED),
    ("tiff", images.tiff, 415, UNSUPPORTED),
    ("heic", images.heic, 415, HEIC_UNSUPPORTED),
    ("html-then-jpeg", html_then_jpeg, 415, UNSUPPORTED),
    ("jpeg-markers-around-html", fake_jpeg_wrapping_html, 422, CORRUPT),
    ("jpeg-then-html", jpeg_with_html_after_the_end, 422, CORRUPT),
    ("png-then-html", png_with_html_after_the_end, 422, CORRUPT),
    ("webp-then-html", webp_with_html_after_the_end, 422, CORRUPT),
    ("jpeg-then-zip", images.jpeg_zip_polyglot, 422, CORRUPT),
    ("truncated-jpeg", images.truncated_jpeg, 422, CORRUPT),
    ("truncated-png", images.truncated_png, 422, CORRUPT),
    ("truncated-webp", images.truncated_webp, 422, CORRUPT),
    ("zero-bytes", images.empty, 422, EMPTY),
]

# Tiny files announcing enormous pictures: (name, make, part of the problem's detail).
BOMBS: list[tuple[str, Make, str]] = [
    ("png-10-gigapixels", images.png_bomb, "100000 x 100000 pixels"),
    ("jpeg-4-gigapixels", images.jpeg_bomb, "65500 x 65500 pixels"),
    ("webp-268-megapixels", webp_bomb, "16383 x 16383 pixels"),
    ("png-one-long-row", png_one_row_bomb, "100000000 x 1 pixels"),
    ("webp-huge-canvas", webp_canvas_bomb, CORRUPT),
]

# Real photos with something else inside: accepted, and the something else is dropped.
POLYGLOTS: list[tuple[str, Make]] = [
    ("jpeg-html-in-comment", images.jpeg_html_polyglot),
    ("jpeg-zip-ending-in-eoi", jpeg_with_zip_in_a_comment),
    ("jpeg-pdf-in-comment", jpeg_with_pdf_in_a_comment),
    ("png-html-in-text-chunk", png_with_html_in_a_text_chunk),
]

# Headers that pass the request's checks over pixels that cannot be decoded.
UNDECODABLE: list[tuple[str, Make]] = [
    ("jpeg", images.corrupt_jpeg),
    ("png", png_with_corrupt_pixels),
    ("webp", webp_with_corrupt_pixels),
]

# Real photos under names and declared types meant to make a server store or serve
# them as something else.
WRONG_NAMES: list[tuple[Make, str, str]] = [
    (lambda: images.png(64, 48), "setup.exe", "application/x-msdownload"),
    (lambda: images.jpeg(64, 48), "index.html", "text/html"),
    (lambda: images.webp(64, 48), "logo.svg", "image/svg+xml"),
    (lambda: images.png(64, 48, seed=1), "photo.php.jpg", "application/x-php"),
]

# A name no browser sends (browsers send UTF-8): the site's form parser cannot read it.
NOT_UTF8_FILENAME = b'filename="\xff\xfe../x.jpg"'

# Raw Content-Disposition filename parameters, as bytes, exactly as a client may send them.
HOSTILE_FILENAMES: list[bytes] = [
    b'filename="../../etc/passwd"',
    b'filename="..\\\\..\\\\x.jpg"',
    b'filename="/etc/cron.d/evil"',
    b'filename="C:\\\\Windows\\\\win.ini"',
    b'filename="evil\x00.jpg"',
    b'filename="%2e%2e%2f%2e%2e%2fx.jpg"',
    b'filename="' + b"a" * 4000 + b'.jpg"',
    'filename="photo\u202egpj.exe"'.encode(),  # right-to-left override: "photoexe.jpg"
    'filename="\uff0e\uff0e\uff0f\uff0e\uff0e\uff0fx.jpg"'.encode(),  # fullwidth ../
    NOT_UTF8_FILENAME,
    b"filename=\"x.jpg\"; filename*=UTF-8''..%2F..%2Fetc%2Fpasswd%00.jpg",
    b'filename=".snapscale.db"',
]
