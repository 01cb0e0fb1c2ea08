import io
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import pyvips  # type: ignore[import-untyped]
from PIL import Image

from snapscale.core.errors import DomainError, InvalidInput, UnsupportedMediaType
from snapscale.core.photos import imaging
from snapscale.core.photos.imaging import (
    NEAR_DUPLICATE_DISTANCE,
    CorruptImage,
    ImageFormat,
    hamming_distance,
    inspect_upload,
    process,
)
from tests.support import images

LIMIT = 50_000_000  # pixels

# blurhash-python reads pixels with Image.getdata(band=...), which Pillow deprecates for
# removal in Pillow 14 (2027-10); the pinned Pillow 13 still works.
pytestmark = pytest.mark.filterwarnings("ignore:Image.Image.getdata is deprecated")


# inspect_upload: the request path


@pytest.mark.parametrize(
    ("make", "image_format", "media_type"),
    [
        (images.jpeg, ImageFormat.JPEG, "image/jpeg"),
        (images.png, ImageFormat.PNG, "image/png"),
        (images.webp, ImageFormat.WEBP, "image/webp"),
    ],
)
def test_accepts_jpeg_png_and_webp_and_reads_their_size(make, image_format, media_type):
    inspected = inspect_upload(make(400, 300), max_pixels=LIMIT)

    assert (inspected.format, inspected.width, inspected.height) == (image_format, 400, 300)
    assert imaging.MEDIA_TYPES[inspected.format] == media_type


@pytest.mark.parametrize(
    ("orientation", "size"), [(1, (400, 200)), (3, (400, 200)), (6, (200, 400)), (8, (200, 400))]
)
def test_size_is_as_displayed_after_exif_orientation(orientation, size):
    inspected = inspect_upload(images.jpeg(400, 200, orientation=orientation), max_pixels=LIMIT)

    assert (inspected.width, inspected.height) == size


@pytest.mark.parametrize(
    "make",
    [
        images.svg,
        images.gif,
        images.bmp,
        images.tiff,
        images.pdf,
        images.html,
        images.zip_archive,
        images.text,
        images.random_bytes,
    ],
)
def test_refuses_every_other_type_with_415(make):
    with pytest.raises(UnsupportedMediaType) as refused:
        inspect_upload(make(), max_pixels=LIMIT)

    assert refused.value.status == 415
    assert refused.value.detail == "Only JPEG, PNG and WebP images are accepted."
    assert refused.value.errors[0].field == "file"


def test_refuses_heic_with_advice():
    with pytest.raises(UnsupportedMediaType) as refused:
        inspect_upload(images.heic(), max_pixels=LIMIT)

    assert refused.value.detail == "HEIC photos are not supported yet; export as JPEG."


def test_type_comes_from_the_bytes_not_the_name():
    # An SVG is refused however it is labelled; a PNG is a PNG whatever it is called.
    # (inspect_upload is never told the name or content type, so this is by design.)
    with pytest.raises(UnsupportedMediaType):
        inspect_upload(images.svg(), max_pixels=LIMIT)
    assert inspect_upload(images.png(8, 8), max_pixels=LIMIT).format == ImageFormat.PNG


def test_an_empty_file_is_422():
    with pytest.raises(InvalidInput) as refused:
        inspect_upload(b"", max_pixels=LIMIT)

    assert refused.value.status == 422
    assert refused.value.detail == "The file is empty."


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(images.truncated_jpeg(), id="truncated-jpeg"),
        pytest.param(images.truncated_png(), id="truncated-png"),
        pytest.param(images.truncated_webp(), id="truncated-webp"),
        pytest.param(images.jpeg_zip_polyglot(), id="jpeg-zip-polyglot"),
        pytest.param(images.jpeg(64, 48) + b"trailing junk", id="jpeg-trailing-data"),
        pytest.param(images.jpeg(64, 48) + b"\x00" * 5000, id="jpeg-too-much-padding"),
        pytest.param(images.png(64, 48) + b"\x00", id="png-after-iend"),
        pytest.param(images.webp(64, 48) + b"\x00\x00", id="webp-longer-than-riff"),
        pytest.param(
            b"\xff\xd8\xff\xe0" + images.random_bytes(200) + b"\xff\xd9", id="jpeg-bad-header"
        ),
        pytest.param(
            images.png(64, 48)[:16] + b"\x00" * 32 + images.png(8, 8)[-12:], id="png-bad-header"
        ),
    ],
)
def test_refuses_truncated_or_unreadable_files_with_422(data):
    with pytest.raises(InvalidInput) as refused:
        inspect_upload(data, max_pixels=LIMIT)

    assert refused.value.detail == "The image file is truncated or corrupt."


def test_tolerates_zero_padding_after_the_jpeg_end_marker():
    padded = images.jpeg(64, 48) + b"\x00" * 1000

    assert inspect_upload(padded, max_pixels=LIMIT).width == 64


@pytest.mark.parametrize(
    ("bomb", "size"),
    [(images.png_bomb(), "100000 x 100000"), (images.jpeg_bomb(), "65500 x 65500")],
)
def test_refuses_decompression_bombs_from_the_header_alone(bomb, size):
    assert len(bomb) < 4096
    started = time.perf_counter()

    with pytest.raises(InvalidInput) as refused:
        inspect_upload(bomb, max_pixels=LIMIT)

    # Decoding 10 gigapixels would take minutes and tens of gigabytes.
    assert time.perf_counter() - started < 0.5
    assert refused.value.detail == f"The image is {size} pixels; the limit is 50 megapixels."


def test_refuses_more_pixels_than_the_limit():
    data = images.jpeg(400, 300)

    with pytest.raises(InvalidInput) as refused:
        inspect_upload(data, max_pixels=400 * 300 - 1)
    assert (
        refused.value.detail == "The image is 400 x 300 pixels; the limit is 0.119999 megapixels."
    )
    assert inspect_upload(data, max_pixels=400 * 300).width == 400


def test_accepts_a_jpeg_with_html_hidden_in_a_comment():
    # It is a real JPEG; what keeps the script away from visitors is the re-encoding.
    assert inspect_upload(images.jpeg_html_polyglot(), max_pixels=LIMIT).format == ImageFormat.JPEG


# process: the worker


def _decode(rendition: imaging.Rendition) -> pyvips.Image:
    return pyvips.Image.new_from_buffer(rendition.data, "")


def test_renditions_carry_no_metadata_at_all():
    processed = process(images.jpeg(1200, 800, gps=True, orientation=1), max_pixels=LIMIT)

    for rendition in processed.renditions:
        assert _decode(rendition).get("vips-loader") == "webpload_buffer"
        assert images.metadata_fields(rendition.data) == set()
        for marker in (b"EXIF", b"Exif", b"XMP", b"ICCP", b"GPS", b"Snapscale Test Camera"):
            assert marker not in rendition.data


def test_the_original_did_carry_gps():
    # Guards the test above: it proves something only if the input had GPS to lose.
    original = images.jpeg(64, 48, gps=True, orientation=1)

    assert images.metadata_fields(original) == {"exif", "gps", "xmp", "orientation"}
    with Image.open(io.BytesIO(original)) as picture:
        assert picture.getexif().get_ifd(0x8825)[2] == images.GPS_LATITUDE


def test_html_in_a_comment_never_reaches_a_rendition():
    processed = process(images.jpeg_html_polyglot(), max_pixels=LIMIT)

    assert all(b"<script" not in rendition.data for rendition in processed.renditions)


def test_renditions_are_turned_by_exif_orientation():
    # Orientation 6: the camera was turned a quarter clockwise, so the stored top-left
    # corner (red) is displayed at the top-right.
    processed = process(images.jpeg(400, 200, orientation=6), max_pixels=LIMIT)

    assert (processed.width, processed.height) == (200, 400)
    sizes = {r.name: (r.width, r.height) for r in processed.renditions}
    assert sizes == {"thumb": (200, 200), "medium": (200, 400), "large": (200, 400)}
    large = _decode(processed.renditions[2])
    top_right, top_left = large(195, 5), large(5, 5)
    assert top_right[0] > 200 and top_right[1] < 60 and top_right[2] < 60
    assert not (top_left[0] > 200 and top_left[1] < 60)


def test_renditions_of_a_large_photo_have_the_advertised_sizes():
    processed = process(images.jpeg(2400, 1600), max_pixels=LIMIT)

    assert [r.name for r in processed.renditions] == ["thumb", "medium", "large"]
    sizes = {r.name: (r.width, r.height) for r in processed.renditions}
    assert sizes["thumb"] == (320, 320)
    assert sizes["medium"] == (1080, 720)
    assert sizes["large"][0] == 2048 and abs(sizes["large"][1] - 1365) <= 1
    for rendition in processed.renditions:
        assert (_decode(rendition).width, _decode(rendition).height) == (
            rendition.width,
            rendition.height,
        )


def test_small_images_are_never_upscaled():
    processed = process(images.png(500, 300), max_pixels=LIMIT)

    sizes = {r.name: (r.width, r.height) for r in processed.renditions}
    assert sizes == {"thumb": (300, 300), "medium": (500, 300), "large": (500, 300)}


def test_a_panorama_still_gets_a_full_size_square_thumb():
    processed = process(images.jpeg(4000, 400), max_pixels=LIMIT)

    sizes = {r.name: (r.width, r.height) for r in processed.renditions}
    assert sizes["thumb"] == (320, 320)
    assert sizes["large"][0] == 2048


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(images.webp(300, 200), id="webp"),
        pytest.param(images.png(300, 200, alpha=True), id="png-alpha"),
        pytest.param(images.encode(Image.new("L", (300, 200), 90), "PNG"), id="grey-png"),
        pytest.param(
            images.encode(Image.new("CMYK", (300, 200), (0, 255, 255, 0)), "JPEG"), id="cmyk-jpeg"
        ),
    ],
)
def test_every_accepted_kind_becomes_srgb_webp(data):
    processed = process(data, max_pixels=LIMIT)

    for rendition in processed.renditions:
        decoded = _decode(rendition)
        assert decoded.interpretation == "srgb"
        assert decoded.bands in (3, 4)


def test_transparency_survives_in_the_renditions():
    processed = process(images.png(300, 200, alpha=True), max_pixels=LIMIT)

    assert all(_decode(r).hasalpha() for r in processed.renditions)


def test_placeholder_and_dominant_colour():
    processed = process(
        images.encode(Image.new("RGB", (300, 200), (10, 200, 30)), "PNG"), max_pixels=LIMIT
    )
    transparent = process(
        images.encode(Image.new("RGBA", (30, 20), (0, 0, 0, 0)), "PNG"), max_pixels=LIMIT
    )

    assert processed.dominant_color == "#0ac81e"
    assert transparent.dominant_color == "#ffffff"  # shown on white, so it averages white
    assert len(processed.blurhash) == 28  # 4 x 3 components
    assert len(processed.perceptual_hash) == 16
    int(processed.perceptual_hash, 16)


def test_processing_is_deterministic():
    data = images.jpeg(1600, 1200, orientation=6, gps=True)

    assert process(data, max_pixels=LIMIT) == process(data, max_pixels=LIMIT)


def test_concurrent_calls_do_not_mix_up_their_photos():
    photos = [images.jpeg(600, 400, seed=seed) for seed in range(4)]
    expected = [process(data, max_pixels=LIMIT) for data in photos]

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda data: process(data, max_pixels=LIMIT), photos * 2))

    assert results == expected * 2


def test_a_resized_recompressed_copy_is_a_near_duplicate_and_another_photo_is_not():
    original = images.jpeg(800, 600, seed=1)
    with Image.open(io.BytesIO(original)) as picture:
        copy = images.encode(picture.resize((560, 420)), "JPEG", quality=60)
    fingerprint = process(original, max_pixels=LIMIT).perceptual_hash

    copy_fingerprint = process(copy, max_pixels=LIMIT).perceptual_hash
    other = process(images.jpeg(800, 600, seed=2), max_pixels=LIMIT).perceptual_hash

    assert hamming_distance(fingerprint, copy_fingerprint) <= NEAR_DUPLICATE_DISTANCE
    assert hamming_distance(fingerprint, other) > NEAR_DUPLICATE_DISTANCE


def test_corrupt_pixel_data_raises_corrupt_image():
    with pytest.raises(CorruptImage) as failed:
        process(images.corrupt_jpeg(), max_pixels=LIMIT)

    assert str(failed.value) == "The image data is corrupt and could not be decoded."


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (images.truncated_jpeg(), "The image file is truncated or corrupt."),
        (images.gif(), "Only JPEG, PNG and WebP images are accepted."),
        (images.png_bomb(), "The image is 100000 x 100000 pixels; the limit is 50 megapixels."),
    ],
)
def test_process_checks_the_stored_bytes_again(data, reason):
    with pytest.raises(CorruptImage) as failed:
        process(data, max_pixels=LIMIT)

    assert str(failed.value) == reason
    assert isinstance(failed.value.__cause__, DomainError)


def test_hamming_distance_counts_differing_bits():
    assert hamming_distance("0000000000000000", "0000000000000000") == 0
    assert hamming_distance("0000000000000000", "ffffffffffffffff") == 64
    assert hamming_distance("8000000000000001", "0000000000000000") == 2
    with pytest.raises(ValueError, match="16 hex digits"):
        hamming_distance("abc", "0000000000000000")
