"""The cheap checks an upload passes on the request path, before anything is stored.

Nothing here decodes pixels: the type comes from magic bytes (never the filename or the
declared content type), completeness from the container's own framing, and the size from
the header libvips reads lazily. A 25 MB upload costs well under a millisecond, and a
decompression bomb is refused from its header before a single pixel is allocated.

Decisions worth knowing:
- An empty file is 422 ("The file is empty."), not 415: there is no type to refuse, and
  the honest message tells the owner what to fix.
- A JPEG must end with its EOI marker. Up to 4 KiB of zero bytes after it is tolerated
  (some cameras and recovery tools pad to a block); anything else after it is refused.
  That refuses JPEG+ZIP polyglots, and also the "motion photos" some phones write (a
  video appended to the JPEG): their owners must export a still.
- A PNG must end with IEND, and a WebP's RIFF size must match the file length exactly.
- HEIC is refused with its own message: the libvips in the pyvips-binary wheel reads
  HEIF containers but has no HEVC decoder (libde265), so it cannot decode iPhone photos.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import StrEnum
from typing import TypeVar

import pyvips  # type: ignore[import-untyped]

from snapscale.core.errors import DomainError, FieldError, InvalidInput, UnsupportedMediaType

FIELD = "file"
UNSUPPORTED = "Only JPEG, PNG and WebP images are accepted."
HEIC_UNSUPPORTED = "HEIC photos are not supported yet; export as JPEG."
EMPTY = "The file is empty."
CORRUPT = "The image file is truncated or corrupt."

_JPEG_MAGIC = b"\xff\xd8\xff"
_JPEG_EOI = b"\xff\xd9"
_JPEG_MAX_PADDING = 4096
_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
_PNG_IEND = b"\x00\x00\x00\x00IEND\xaeB`\x82"
_WEBP_CHUNKS = (b"VP8 ", b"VP8L", b"VP8X")
# ISO-BMFF brands: AVIF files also list the generic HEIF brands, so look for AVIF first.
_AVIF_BRANDS = frozenset({b"avif", b"avis"})
_HEIF_BRANDS = frozenset(
    {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs", b"mif1", b"msf1"}
)
# EXIF orientations 5-8 turn the picture a quarter turn, so width and height trade places.
_QUARTER_TURNS = frozenset({5, 6, 7, 8})

_E = TypeVar("_E", bound=DomainError)


class ImageFormat(StrEnum):
    JPEG = "jpeg"
    PNG = "png"
    WEBP = "webp"


MEDIA_TYPES: dict[ImageFormat, str] = {
    ImageFormat.JPEG: "image/jpeg",
    ImageFormat.PNG: "image/png",
    ImageFormat.WEBP: "image/webp",
}


@dataclass(frozen=True)
class InspectedImage:
    format: ImageFormat
    width: int  # as displayed, after the EXIF orientation
    height: int


def inspect_upload(data: bytes, *, max_pixels: int) -> InspectedImage:
    """Refuse what is not a complete JPEG, PNG or WebP of at most max_pixels pixels.

    Raises UnsupportedMediaType (415) for other types and InvalidInput (422) for empty,
    truncated, unreadable or oversized images.
    """
    if not data:
        raise _file_error(InvalidInput, EMPTY)
    image_format = sniff(data)
    if not _is_complete(data, image_format):
        raise _file_error(InvalidInput, CORRUPT)
    width, height = _header_size(data, image_format)
    if width * height > max_pixels:
        raise _file_error(InvalidInput, too_many_pixels(width, height, max_pixels))
    return InspectedImage(image_format, width, height)


def sniff(data: bytes) -> ImageFormat:
    """The accepted format the leading bytes announce, or UnsupportedMediaType."""
    if data.startswith(_JPEG_MAGIC):
        return ImageFormat.JPEG
    if data.startswith(_PNG_MAGIC):
        return ImageFormat.PNG
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP" and data[12:16] in _WEBP_CHUNKS:
        return ImageFormat.WEBP
    if _is_heif(data):
        raise _file_error(UnsupportedMediaType, HEIC_UNSUPPORTED)
    raise _file_error(UnsupportedMediaType, UNSUPPORTED)


def too_many_pixels(width: int, height: int, max_pixels: int) -> str:
    return (
        f"The image is {width} x {height} pixels; "
        f"the limit is {max_pixels / 1_000_000:g} megapixels."
    )


def open_lazily(data: bytes, image_format: ImageFormat) -> pyvips.Image:
    """The header only: libvips reads pixels when asked, and the source does not copy data.

    The caller must keep data alive while the image is in use (pyvips does not).
    """
    source = pyvips.Source.new_from_memory(data)
    # The loader named by our own sniffing, never libvips' guess: no other loader
    # (and none of libvips' less trusted ones) ever sees an upload.
    load = getattr(pyvips.Image, f"{image_format.value}load_source")
    return load(source, access="sequential")


def _is_complete(data: bytes, image_format: ImageFormat) -> bool:
    match image_format:
        case ImageFormat.JPEG:
            tail = data[-_JPEG_MAX_PADDING:].rstrip(b"\x00")
            return len(tail) > len(_JPEG_MAGIC) and tail.endswith(_JPEG_EOI)
        case ImageFormat.PNG:
            return data.endswith(_PNG_IEND)
        case ImageFormat.WEBP:
            (riff_size,) = struct.unpack_from("<I", data, 4)
            return int(riff_size) + 8 == len(data)


def _header_size(data: bytes, image_format: ImageFormat) -> tuple[int, int]:
    try:
        header = open_lazily(data, image_format)
        width, height = int(header.width), int(header.height)
        orientation = int(header.get("orientation")) if header.get_typeof("orientation") else 1
    except pyvips.Error as exc:
        raise _file_error(InvalidInput, CORRUPT) from exc
    return (height, width) if orientation in _QUARTER_TURNS else (width, height)


def _is_heif(data: bytes) -> bool:
    if data[4:8] != b"ftyp" or len(data) < 16:
        return False
    (box_size,) = struct.unpack_from(">I", data, 0)
    compatible = data[16 : min(box_size, 256)]
    brands = {data[8:12]} | {compatible[i : i + 4] for i in range(0, len(compatible) - 3, 4)}
    return not brands & _AVIF_BRANDS and bool(brands & _HEIF_BRANDS)


def _file_error(kind: type[_E], message: str) -> _E:
    # The field error lets the site show the message beside the file input.
    return kind(message, errors=[FieldError(FIELD, message)])
