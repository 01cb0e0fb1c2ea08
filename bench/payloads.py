"""Request bodies the benchmarks send: real JPEGs of a chosen size and the multipart form
that uploads one."""

from __future__ import annotations

import io
import random

from PIL import Image

# Where photo_of_size stops growing the image even if it is still under the size asked.
LARGEST_SIDE = 7000


def noisy_jpeg(side: int, *, seed: int | None = None) -> bytes:
    """A square JPEG of random 4x4-pixel blocks: noisy enough not to compress away, so
    its size in bytes grows with its side like a real photo's."""
    rng = random.Random(side if seed is None else seed)
    block = side // 4
    noise = bytes(rng.getrandbits(8) for _ in range(block * block * 3))
    image = Image.frombytes("RGB", (block, block), noise)
    image = image.resize((side, side), Image.Resampling.NEAREST)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=95)
    return buffer.getvalue()


def photo_of_size(megabytes: float) -> bytes:
    """A real JPEG of at least the requested size (or the largest side allowed)."""
    side = 1000
    while True:
        photo = noisy_jpeg(side)
        if len(photo) >= megabytes * 1024 * 1024 or side >= LARGEST_SIDE:
            return photo
        side += 500


def multipart_upload(photo: bytes, *, field: str = "file") -> tuple[str, bytes]:
    """(Content-Type header, body) of a form posting ``photo`` as a JPEG file, as a browser
    or a mobile app sends it."""
    boundary = f"snapscale-bench-{random.getrandbits(64):016x}"
    head = (
        f"--{boundary}\r\n"
        f'Content-Disposition: form-data; name="{field}"; filename="photo.jpg"\r\n'
        "Content-Type: image/jpeg\r\n\r\n"
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    return f"multipart/form-data; boundary={boundary}", head + photo + tail
