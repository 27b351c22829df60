"""Decoding and validation before preprocessing: formats, limits, data URLs, orientation."""
from __future__ import annotations

import base64
import subprocess
import sys
import textwrap

import pytest
from PIL import Image

from app.settings import REPO_ROOT
from app.imaging.decode import (
    ImageDataTooLarge,
    ImageTooLarge,
    UndecodableImage,
    UnsupportedImageType,
    check_webp_header,
    decode_image,
    image_bytes_from_text,
)
from testkit.drawings import encode, stroke_mask, styled

LIMIT = 16_000_000


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP", "GIF", "BMP"])
def test_accepted_formats_decode_to_their_size(fmt: str) -> None:
    image = decode_image(encode(styled(stroke_mask("one", (120, 90)), "dark_on_light"), fmt), LIMIT)
    assert image.size == (120, 90)


@pytest.mark.parametrize(
    "fmt,name", [("TIFF", "TIFF"), ("ICO", "ICO"), ("PDF", "PDF"), ("JPEG2000", "JPEG 2000"), ("QOI", "QOI")]
)
def test_foreign_formats_are_named_and_refused(fmt: str, name: str) -> None:
    data = encode(Image.new("RGB", (32, 32), (255, 255, 255)), fmt)
    with pytest.raises(UnsupportedImageType, match=name):
        decode_image(data, LIMIT)


def test_large_jpeg_is_decoded_at_reduced_scale() -> None:
    data = encode(styled(stroke_mask("zero", 2400, width=200), "dark_on_light"), "JPEG", quality=90)
    assert decode_image(data, LIMIT).size == (2400, 2400)
    reduced = decode_image(data, LIMIT, work_size=640)
    assert 640 <= max(reduced.size) < 2400


def test_exif_orientation_is_applied() -> None:
    image = Image.new("L", (200, 100), 255)
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    data = encode(image, "JPEG", exif=exif.tobytes())
    assert decode_image(data, LIMIT).size == (100, 200)


@pytest.mark.parametrize(
    "header",
    [
        # VP8X (extended) canvas of 8000x8000: 24-bit width-1 and height-1
        b"RIFF\x00\x00\x00\x00WEBPVP8X\x0a\x00\x00\x00\x00\x00\x00\x00"
        + (7999).to_bytes(3, "little") + (7999).to_bytes(3, "little"),
        # VP8L (lossless) 8000x8000: signature 0x2f, then 14-bit width-1 and height-1
        b"RIFF\x00\x00\x00\x00WEBPVP8L\x00\x00\x00\x00\x2f"
        + (7999 | (7999 << 14)).to_bytes(4, "little") + b"\x00" * 8,
    ],
    ids=["vp8x", "vp8l"],
)
def test_webp_canvas_size_is_checked_from_the_header(header: bytes) -> None:
    with pytest.raises(ImageTooLarge, match="8000x8000"):
        check_webp_header(header, LIMIT)
    check_webp_header(header, 8000 * 8000)  # within a higher limit: no complaint


def test_huge_webp_is_refused_before_libwebp_allocates_its_canvas(tmp_path) -> None:
    """With the address space capped 150 MB above what Python uses, a 256 MB canvas cannot
    be allocated: only a refusal that happens before Pillow opens the file says 'too large'."""
    script = textwrap.dedent(
        """
        import resource
        from app.imaging.decode import decode_image
        from testkit.drawings import webp_claiming_size
        data = webp_claiming_size(8000, 8000)
        vm = int([l for l in open('/proc/self/status') if l.startswith('VmSize')][0].split()[1]) * 1024
        resource.setrlimit(resource.RLIMIT_AS, (vm + 150 * 2**20, resource.RLIM_INFINITY))
        try:
            decode_image(data, 16_000_000)
        except Exception as exc:
            print(type(exc).__name__)
        """
    )
    result = subprocess.run([sys.executable, "-c", script], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == "ImageTooLarge", result.stdout + result.stderr


def test_data_url_and_base64_parsing() -> None:
    raw = b"\x89PNG\r\n\x1a\nabc"
    b64 = base64.b64encode(raw).decode()
    assert image_bytes_from_text(f"data:image/png;base64,{b64}", 10_000) == raw
    assert image_bytes_from_text(f"  data:IMAGE/JPEG;base64,{b64}\n", 10_000) == raw
    assert image_bytes_from_text(b64, 10_000) == raw
    with pytest.raises(UnsupportedImageType, match="image/tiff"):
        image_bytes_from_text(f"data:image/tiff;base64,{b64}", 10_000)
    with pytest.raises(UndecodableImage, match="base64"):
        image_bytes_from_text("data:image/png,%89PNG", 10_000)
    with pytest.raises(UndecodableImage):
        image_bytes_from_text("data:image/png;base64,@@@", 10_000)
    with pytest.raises(ImageDataTooLarge):
        image_bytes_from_text("A" * 20_000, 10_000)
