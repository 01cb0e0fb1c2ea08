"""Turning an accepted upload into what the site serves: bytes in, bytes out, with no
database, storage or web framework.

inspect_upload (from sniffing) is the cheap gate on the request path; process is the
CPU-heavy step a worker runs later. process decodes the original once, at the smallest
scale the largest rendition allows (JPEG shrink-on-load via libvips thumbnail), keeps that
in memory and derives every other output from it. The outputs are re-encoded WebP with
no metadata at all, so nothing the camera recorded (GPS above all) reaches a visitor.

bench/renditions.py measures process against plain Pillow (about 2x faster on a 12 MP
JPEG, most of the remaining time being libwebp encoding the large rendition).
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache
from typing import Any

import blurhash  # type: ignore[import-untyped]
import imagehash
import pyvips  # type: ignore[import-untyped]
from PIL import Image

from snapscale.core.errors import DomainError
from snapscale.core.photos.sniffing import (
    MEDIA_TYPES,
    ImageFormat,
    InspectedImage,
    inspect_upload,
    open_lazily,
)

__all__ = [
    "MEDIA_TYPES",
    "NEAR_DUPLICATE_DISTANCE",
    "RENDITIONS",
    "CorruptImage",
    "ImageFormat",
    "InspectedImage",
    "ProcessedImage",
    "Rendition",
    "RenditionSpec",
    "hamming_distance",
    "inspect_upload",
    "process",
]

# Two photos whose 64-bit pHashes differ in at most this many bits look the same to a
# person: a resized or recompressed copy lands within 0-4, unrelated photos near 32.
NEAR_DUPLICATE_DISTANCE = 6
WEBP_QUALITY = 80
CORRUPT = "The image data is corrupt and could not be decoded."

# libjpeg reports garbage entropy data and a truncated scan as *warnings*, so JPEG needs
# the strictest level to refuse them. libpng warns about harmless things (the notorious
# "known incorrect sRGB profile"), and its real damage is an error, so PNG and WebP stop
# at "error". The price: a JPEG that libjpeg merely frowns at is refused too.
_FAIL_ON = {ImageFormat.JPEG: "warning", ImageFormat.PNG: "error", ImageFormat.WEBP: "error"}
_PLACEHOLDER_SIZE = 32  # blurhash and the average colour need no more
_PHASH_SIZE = 64  # imagehash squeezes to 32x32 itself; give it a little more to work with

# Every image we touch is new, so libvips' operation cache never hits; left at its default
# (100 operations) it would only pin the last photos' pixels in memory.
pyvips.cache_set_max(0)


@dataclass(frozen=True)
class RenditionSpec:
    size: int  # the rendition fits in size x size, and is never upscaled
    square: bool = False  # centre-crop to a square instead of fitting


RENDITIONS: dict[str, RenditionSpec] = {
    "thumb": RenditionSpec(320, square=True),
    "medium": RenditionSpec(1080),
    "large": RenditionSpec(2048),
}


@dataclass(frozen=True)
class Rendition:
    name: str
    data: bytes  # WebP, sRGB, no EXIF, XMP or ICC
    width: int
    height: int


@dataclass(frozen=True)
class ProcessedImage:
    width: int  # the original's, as displayed
    height: int
    renditions: tuple[Rendition, ...]  # in RENDITIONS order: thumb, medium, large
    blurhash: str
    dominant_color: str  # "#rrggbb"
    perceptual_hash: str  # 16 hex digits


class CorruptImage(Exception):
    """process() could not make the renditions; str() is a reason the owner can read."""


def process(data: bytes, *, max_pixels: int) -> ProcessedImage:
    """Decode, orient, convert to sRGB and re-encode the renditions, and fingerprint them.

    Blocking and CPU-heavy: run it in a worker thread. The same input always gives
    byte-identical output, so a job that runs twice stores the same files.
    """
    try:
        # The request path checked this already; the stored bytes are checked again
        # because nothing guarantees they are the ones that were inspected.
        inspected = inspect_upload(data, max_pixels=max_pixels)
    except DomainError as exc:
        raise CorruptImage(exc.detail) from exc
    try:
        return _process(data, inspected)
    except pyvips.Error as exc:
        raise CorruptImage(CORRUPT) from exc


def hamming_distance(a: str, b: str) -> int:
    """How many of the 64 bits two perceptual hashes differ in."""
    if len(a) != 16 or len(b) != 16:
        raise ValueError("perceptual hashes are 16 hex digits")
    return (int(a, 16) ^ int(b, 16)).bit_count()


def _process(data: bytes, inspected: InspectedImage) -> ProcessedImage:
    largest = max(RENDITIONS.values(), key=lambda spec: spec.size).size
    # One decode, shrunk on load as far as the largest rendition allows, oriented, and
    # held in memory (at most 16 MB) so that every smaller output reuses it.
    base = _to_srgb(_thumbnail(data, inspected.format, largest)).copy_memory()
    # WebP encoding is most of the work and libwebp uses one core per picture, so the
    # renditions encode side by side (libvips calls release the GIL) while this thread
    # computes the fingerprints. Threads change nothing in the output bytes.
    pending = [
        _encoders().submit(_render, name, spec, base, data, inspected)
        for name, spec in RENDITIONS.items()
    ]
    placeholder, colour, phash = _fingerprints(base)
    renditions = tuple(future.result() for future in pending)
    return ProcessedImage(
        width=inspected.width,
        height=inspected.height,
        renditions=renditions,
        blurhash=placeholder,
        dominant_color=colour,
        perceptual_hash=phash,
    )


@cache
def _encoders() -> ThreadPoolExecutor:
    """Threads shared by every process() call: fresh threads per call would each get a
    new malloc arena, and a worker's memory would creep up photo after photo."""
    return ThreadPoolExecutor(max_workers=len(RENDITIONS), thread_name_prefix="webp")


# A pool inherited through fork() has no threads behind it; let the child make its own.
os.register_at_fork(after_in_child=_encoders.cache_clear)


def _thumbnail(data: bytes, image_format: ImageFormat, size: int, **options: Any) -> pyvips.Image:
    kwargs: dict[str, Any] = {"height": size, "size": "down", **options}
    if open_lazily(data, image_format).get_typeof("icc-profile-data"):
        kwargs["output_profile"] = "srgb"  # without a profile the pixels are taken as sRGB
    source = pyvips.Source.new_from_memory(data)
    # libvips applies the EXIF orientation and drops the tag; option_string reaches the
    # loader, so a damaged file fails here instead of rendering as garbage.
    return pyvips.Image.thumbnail_source(
        source, size, option_string=f"fail_on={_FAIL_ON[image_format]}", **kwargs
    )


def _to_srgb(image: pyvips.Image) -> pyvips.Image:
    # Greyscale (with or without alpha) becomes RGB: WebP has no grey mode, and the
    # fingerprints want three bands. thumbnail has already turned CMYK into sRGB and
    # 16-bit into 8-bit; the cast is for anything that slips past it.
    if image.interpretation != "srgb":
        image = image.colourspace("srgb")
    return image.cast("uchar") if image.format != "uchar" else image


def _resize(
    base: pyvips.Image, spec: RenditionSpec, data: bytes, inspected: InspectedImage
) -> pyvips.Image:
    if not spec.square:
        return base.thumbnail_image(spec.size, height=spec.size, size="down")
    side = min(spec.size, inspected.width, inspected.height)
    if min(base.width, base.height) < side:
        # A panorama longer than 6.4:1 (2048/320) lost too much of its short side in
        # base: decode once more for a full-size square rather than serve a small one.
        base = _to_srgb(_thumbnail(data, inspected.format, side, crop="centre"))
    return base.thumbnail_image(side, height=side, crop="centre")


def _render(
    name: str, spec: RenditionSpec, base: pyvips.Image, data: bytes, inspected: InspectedImage
) -> Rendition:
    image = _resize(base, spec, data, inspected)
    # keep="none" drops EXIF, XMP, IPTC and the ICC profile: the pixels are sRGB already,
    # which is what a browser assumes for an image without a profile.
    encoded = image.webpsave_buffer(Q=WEBP_QUALITY, keep=pyvips.enums.ForeignKeep.NONE)
    return Rendition(name, encoded, int(image.width), int(image.height))


def _fingerprints(base: pyvips.Image) -> tuple[str, str, str]:
    """The blurhash placeholder, the average colour and the perceptual hash."""
    # Transparent pixels are shown over white, so that is what they count as.
    opaque = base.flatten(background=[255, 255, 255]) if base.hasalpha() else base
    small = opaque.thumbnail_image(_PLACEHOLDER_SIZE, height=_PLACEHOLDER_SIZE)
    squashed = opaque.thumbnail_image(_PHASH_SIZE, height=_PHASH_SIZE, size="force")
    placeholder = str(blurhash.encode(_to_pillow(small), 4, 3))
    return placeholder, _average_colour(small), str(imagehash.phash(_to_pillow(squashed)))


def _to_pillow(image: pyvips.Image) -> Image.Image:
    rgb = image.extract_band(0, n=3)
    return Image.frombytes("RGB", (rgb.width, rgb.height), rgb.write_to_memory())


def _average_colour(image: pyvips.Image) -> str:
    channels = (round(image.extract_band(band).avg()) for band in range(3))
    return "#" + "".join(f"{channel:02x}" for channel in channels)
