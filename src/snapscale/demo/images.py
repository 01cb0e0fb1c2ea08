"""Small but real photos for the demo: JPEGs drawn with Pillow, the same bytes for the
same seed, so a demo database can be rebuilt identically."""

from __future__ import annotations

import io
import random

from PIL import Image, ImageDraw, ImageFilter

WIDTH, HEIGHT = 640, 480
JPEG_QUALITY = 85
_SHAPES = (6, 14)  # how many shapes a picture has, at least and at most

Colour = tuple[int, int, int]


def render(seed: int, *, width: int = WIDTH, height: int = HEIGHT) -> bytes:
    """A landscape-like picture: a sky-to-ground gradient with soft coloured shapes."""
    rng = random.Random(seed)  # noqa: S311 (repeatable on purpose)  # nosec B311
    sky, ground = _colour(rng), _colour(rng)
    gradient = Image.linear_gradient("L").resize((width, height))
    picture = Image.composite(
        Image.new("RGB", (width, height), ground), Image.new("RGB", (width, height), sky), gradient
    )
    draw = ImageDraw.Draw(picture)
    for _ in range(rng.randint(*_SHAPES)):
        cx, cy = rng.uniform(0, width), rng.uniform(0, height)
        rx, ry = rng.uniform(0.04, 0.3) * width, rng.uniform(0.04, 0.3) * height
        box = (cx - rx, cy - ry, cx + rx, cy + ry)
        kind = rng.random()
        if kind < 0.45:
            draw.ellipse(box, fill=_colour(rng))
        elif kind < 0.8:
            draw.rectangle(box, fill=_colour(rng))
        else:
            corners = [(rng.uniform(box[0], box[2]), rng.uniform(box[1], box[3])) for _ in range(3)]
            draw.polygon(corners, fill=_colour(rng))
    # A little blur makes it compress (and process) like a photo rather than a diagram.
    # BoxBlur, not GaussianBlur: it looks alike here at a tenth of the cost.
    picture = picture.filter(ImageFilter.BoxBlur(rng.uniform(1, 3)))
    buffer = io.BytesIO()
    picture.save(buffer, "JPEG", quality=JPEG_QUALITY)
    return buffer.getvalue()


def _colour(rng: random.Random) -> Colour:
    return (rng.randrange(256), rng.randrange(256), rng.randrange(256))
