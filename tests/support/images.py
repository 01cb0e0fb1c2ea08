"""Real image files, and convincing fakes, made on the spot for tests.

Every generator is deterministic (same arguments, same bytes), so a test can make the
same upload twice. The accepted formats come from Pillow; the hostile ones are built
by hand where Pillow would refuse to write them.
"""

from __future__ import annotations

import io
import random
import struct
import zipfile
import zlib
from collections.abc import Callable

import pyvips  # type: ignore[import-untyped]
from PIL import Image, ImageDraw, ImageFilter

# Where the GPS of every photo made with gps=True points: the Eiffel Tower.
GPS_LATITUDE = (48.0, 51.0, 29.58)  # degrees, minutes, seconds
GPS_LONGITUDE = (2.0, 17.0, 40.08)
MARKER = (255, 0, 0)  # the stored top-left corner of every scene is this red

_VIPS_METADATA = {
    "exif-data": "exif",
    "xmp-data": "xmp",
    "icc-profile-data": "icc",
    "iptc-data": "iptc",
    "orientation": "orientation",
}
_EXIF_ORIENTATION = 0x0112
_EXIF_GPS_IFD = 0x8825
_XMP_WITH_GPS = (
    b'<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?>'
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
    b'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
    b'<rdf:Description xmlns:exif="http://ns.adobe.com/exif/1.0/" '
    b'exif:GPSLatitude="48,51.493N" exif:GPSLongitude="2,17.668E"/>'
    b'</rdf:RDF></x:xmpmeta><?xpacket end="w"?>'
)


def scene(width: int, height: int, *, seed: int = 0) -> Image.Image:
    """A photo-like picture: a soft gradient, blurred shapes, grain, and a red block
    marking the stored top-left corner (so a test can see where orientation put it)."""
    rng = random.Random(seed)
    sky, ground = _colour(rng), _colour(rng)
    gradient = Image.linear_gradient("L").resize((width, height))
    picture = Image.composite(
        Image.new("RGB", (width, height), ground), Image.new("RGB", (width, height), sky), gradient
    )
    draw = ImageDraw.Draw(picture)
    # Shapes are placed in fractions of the frame, so one seed at two sizes is one
    # picture at two resolutions (a near-duplicate), and another seed another picture.
    for _ in range(12):
        cx, cy = rng.random(), rng.random()
        half_w, half_h = rng.uniform(0.06, 0.25), rng.uniform(0.06, 0.25)
        shape = draw.ellipse if rng.random() < 0.5 else draw.rectangle
        left, right = (cx - half_w) * width, (cx + half_w) * width
        top, bottom = (cy - half_h) * height, (cy + half_h) * height
        shape((left, top, right, bottom), fill=_colour(rng))
    picture = picture.filter(ImageFilter.GaussianBlur(max(1, min(width, height) // 200)))
    grain = Image.frombytes("RGB", (width, height), rng.randbytes(width * height * 3))
    picture = Image.blend(picture, grain, 0.08)
    ImageDraw.Draw(picture).rectangle((0, 0, width // 10, height // 10), fill=MARKER)
    return picture


def jpeg(
    width: int,
    height: int,
    *,
    orientation: int | None = None,
    gps: bool = False,
    seed: int = 0,
    quality: int = 90,
) -> bytes:
    """A baseline JPEG; gps=True adds GPS to both its EXIF and an XMP packet."""
    exif = Image.Exif()
    if orientation is not None:
        exif[_EXIF_ORIENTATION] = orientation
    if gps:
        exif[0x010F] = "Snapscale Test Camera"  # Make, so the EXIF is more than GPS
        exif.get_ifd(_EXIF_GPS_IFD).update({1: "N", 2: GPS_LATITUDE, 3: "E", 4: GPS_LONGITUDE})
    extra = {"xmp": _XMP_WITH_GPS} if gps else {}
    return encode(scene(width, height, seed=seed), "JPEG", quality=quality, exif=exif, **extra)


def png(width: int, height: int, *, seed: int = 0, alpha: bool = False) -> bytes:
    picture = scene(width, height, seed=seed)
    if alpha:
        picture.putalpha(Image.linear_gradient("L").resize((width, height)))
    return encode(picture, "PNG")


def webp(width: int, height: int, *, seed: int = 0, animated: bool = False) -> bytes:
    picture = scene(width, height, seed=seed)
    if animated:
        second = scene(width, height, seed=seed + 1)
        return encode(picture, "WEBP", quality=80, save_all=True, append_images=[second])
    return encode(picture, "WEBP", quality=80)


def encode(picture: Image.Image, image_format: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    picture.save(buffer, image_format, **options)
    return buffer.getvalue()


def metadata_fields(data: bytes) -> set[str]:
    """Which kinds of metadata an image file carries, by libvips and by Pillow: a subset
    of {"exif", "gps", "xmp", "icc", "iptc", "orientation"}."""
    found = set()
    fields = set(pyvips.Image.new_from_buffer(data, "").get_fields())
    for field, kind in _VIPS_METADATA.items():
        if field in fields:
            found.add(kind)
    if any(field.startswith("exif-") for field in fields):
        found.add("exif")
    with Image.open(io.BytesIO(data)) as picture:
        exif = picture.getexif()
        if exif:
            found.add("exif")
        if exif.get_ifd(_EXIF_GPS_IFD):
            found.add("gps")
        if _EXIF_ORIENTATION in exif:
            found.add("orientation")
        if "xmp" in picture.info or "XML:com.adobe.xmp" in picture.info:
            found.add("xmp")
        if "icc_profile" in picture.info:
            found.add("icc")
    if b"GPSLatitude" in data:  # GPS written into XMP or a comment
        found.add("gps")
    return found


# Not accepted, but real files of their type.


def gif() -> bytes:
    return encode(scene(64, 48), "GIF")


def bmp() -> bytes:
    return encode(scene(64, 48), "BMP")


def tiff() -> bytes:
    return encode(scene(64, 48), "TIFF")


def pdf() -> bytes:
    return encode(scene(64, 48), "PDF")


def svg() -> bytes:
    return (
        b'<?xml version="1.0" encoding="UTF-8"?>\n'
        b'<svg xmlns="http://www.w3.org/2000/svg" width="64" height="48">'
        b'<script>alert(document.cookie)</script><rect width="64" height="48" fill="red"/>'
        b"</svg>\n"
    )


def html() -> bytes:
    return b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>\n"


def zip_archive() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("photo.jpg", jpeg(32, 32))
    return buffer.getvalue()


def text() -> bytes:
    return b"just some text, not a picture\n"


def empty() -> bytes:
    return b""


def random_bytes(size: int = 4096, *, seed: int = 0) -> bytes:
    return random.Random(seed).randbytes(size)


def heic() -> bytes:
    """The start of an iPhone photo: only the ISO-BMFF brand matters to sniffing (the
    libvips wheel cannot encode HEVC, so a real HEIC cannot be made here)."""
    ftyp = _box(b"ftyp", b"heic" + b"\x00\x00\x00\x00" + b"mif1heic")
    return ftyp + _box(b"meta", b"\x00" * 32) + _box(b"mdat", random_bytes(256))


# Damaged and hostile files that look like accepted ones.


def truncated_jpeg() -> bytes:
    data = jpeg(256, 192)
    return data[: len(data) * 2 // 3]


def truncated_png() -> bytes:
    data = png(256, 192)
    return data[: len(data) * 2 // 3]


def truncated_webp() -> bytes:
    data = webp(256, 192)
    return data[: len(data) * 2 // 3]


def corrupt_jpeg() -> bytes:
    """Valid markers from SOI to EOI, but the compressed scan is a little noise (with no
    0xFF, so no accidental markers), far too short for the picture: the header reads
    fine, the pixels cannot be decoded. (Noise as long as the real scan may well decode
    into garbage without a single complaint from libjpeg: no decoder can catch that.)"""
    data = jpeg(256, 192)
    scan = data.index(b"\xff\xda")
    start = scan + 2 + struct.unpack(">H", data[scan + 2 : scan + 4])[0]
    noise = bytes(b % 255 for b in random_bytes(64, seed=1))
    return data[:start] + noise + data[-2:]


def png_bomb(width: int = 100_000, height: int = 100_000) -> bytes:
    """A tiny PNG (about a kilobyte) whose IHDR claims width x height RGB pixels; its
    zlib stream inflates to rows of black. Every chunk has a correct CRC."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    rows = (b"\x00" + b"\x00" * 3 * width) * 4
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", ihdr)
        + _chunk(b"IDAT", zlib.compress(rows, 9))
        + _chunk(b"IEND", b"")
    )


def jpeg_bomb(width: int = 65_500, height: int = 65_500) -> bytes:
    """A small real JPEG whose SOF header claims width x height pixels."""
    data = bytearray(jpeg(16, 16))
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


# The longest run of empty blocks one Huffman symbol (EOB14) covers.
MAX_EOB_RUN = 32767


def jpeg_of_many_scans(side: int = 7000, scans: int = 5000) -> bytes:
    """A valid progressive greyscale JPEG, mid-grey all over, whose AC coefficients are
    sent again in each of `scans` identical scans.

    libjpeg accepts each repeat without even a warning (a first scan of coefficients it
    already has is legal) and walks every block of the image in each, so decoding costs
    scans x blocks, shrink-on-load or not. Each scan stays a few bytes long: it says
    "nothing in any block" in runs of up to 32767 blocks. The defaults (49 MP, under the
    50 MP limit; about 0.5 MB) took 19 s to process on a 2-core machine."""
    blocks = ((side + 7) // 8) ** 2
    full_runs, rest = divmod(blocks, MAX_EOB_RUN)
    rest_bits = rest.bit_length() - 1  # EOBn covers 2**n blocks plus n bits' worth more
    # Huffman codes: DC "0" = no difference from the block before (every DC is 0, i.e.
    # grey); AC "0" = EOB14, "10" = the EOBn of the remainder.
    dc_table = bytes([0x00, 1] + [0] * 15 + [0x00])
    ac_table = bytes([0x10, 1, 1] + [0] * 14 + [0xE0, rest_bits << 4])
    ac_scan = _jpeg_entropy_coded(
        ("0" + "1" * 14) * full_runs + "10" + format(rest - (1 << rest_bits), f"0{rest_bits}b")
    )
    return b"".join(
        [
            b"\xff\xd8",
            _jpeg_segment(0xDB, bytes([0]) + bytes([1] * 64)),  # quantisation: all 1s
            _jpeg_segment(0xC2, struct.pack(">BHHB", 8, side, side, 1) + bytes([1, 0x11, 0])),
            _jpeg_segment(0xC4, dc_table + ac_table),
            _jpeg_segment(0xDA, bytes([1, 1, 0x00, 0, 0, 0x00])),  # DC of every block
            _jpeg_entropy_coded("0" * blocks),
            (_jpeg_segment(0xDA, bytes([1, 1, 0x00, 1, 63, 0x00])) + ac_scan) * scans,  # AC 1-63
            b"\xff\xd9",
        ]
    )


def jpeg_html_polyglot() -> bytes:
    """A valid JPEG whose comment segment is an HTML page with a script: a browser that
    sniffed it as HTML would run the script. It is a real JPEG, so it is accepted; the
    payload must never reach a rendition."""
    payload = b"<html><body><script>alert('polyglot')</script></body></html>"
    data = jpeg(64, 48)
    return data[:2] + _jpeg_segment(0xFE, payload) + data[2:]


def jpeg_zip_polyglot() -> bytes:
    """A JPEG with a ZIP archive appended: image viewers see the photo, unzip the archive."""
    return jpeg(64, 48) + zip_archive()


# Every refused upload by name, for tests that try them all.
HOSTILE: dict[str, Callable[[], bytes]] = {
    "svg": svg,
    "gif": gif,
    "bmp": bmp,
    "tiff": tiff,
    "pdf": pdf,
    "html": html,
    "zip": zip_archive,
    "text": text,
    "random": random_bytes,
    "heic": heic,
    "empty": empty,
    "png_bomb": png_bomb,
    "huge_declared_jpeg": jpeg_bomb,
    "truncated_jpeg": truncated_jpeg,
    "truncated_png": truncated_png,
    "truncated_webp": truncated_webp,
    "jpeg_zip_polyglot": jpeg_zip_polyglot,
}


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _box(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body) + 8) + kind + body


def _colour(rng: random.Random) -> tuple[int, int, int]:
    return (rng.randrange(256), rng.randrange(256), rng.randrange(256))


def _jpeg_segment(marker: int, body: bytes) -> bytes:
    return bytes([0xFF, marker]) + struct.pack(">H", len(body) + 2) + body


def _jpeg_entropy_coded(bits: str) -> bytes:
    """Bits packed into bytes, the last padded with 1s, each 0xFF byte followed by a 0
    (the stuffing that tells data from a marker)."""
    bits += "1" * (-len(bits) % 8)
    return int(bits, 2).to_bytes(len(bits) // 8, "big").replace(b"\xff", b"\xff\x00")
