"""Bytes (or a data URL) in, a safely decoded first frame out - or a precise refusal.

Only the plugins of the five accepted formats ever parse user data: Pillow's other
decoders (TIFF, PSD, EPS, ...) are never run, a known foreign format is named from its
magic number instead. The pixel count is checked from the header before any pixel is
decoded (for WebP even before Pillow opens it: libwebp allocates the canvas on open);
Pillow's own decompression-bomb guard (Image.MAX_IMAGE_PIXELS, left at its default,
which is above our limit) stays on as a backstop.
"""
from __future__ import annotations

import base64
import binascii
import io
import re
import struct

from PIL import Image, ImageOps, UnidentifiedImageError

from app.imaging.png_fast import decode_png

ACCEPTED_MEDIA_TYPES = frozenset(
    {"image/png", "image/jpeg", "image/jpg", "image/pjpeg", "image/webp", "image/gif", "image/bmp", "image/x-ms-bmp"}
)
ACCEPTED_NAMES = "PNG, JPEG, WebP, GIF or BMP"
# The only Pillow plugins that ever parse user data (the JPEG plugin also opens MPO, a JPEG
# with extra pictures, as phone cameras write them).
PILLOW_FORMATS = ("PNG", "JPEG", "WEBP", "GIF", "BMP")

# Magic numbers of image formats we recognise but refuse (415 rather than "undecodable").
FOREIGN_MAGIC = (
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
    (b"\x00\x00\x01\x00", "ICO"),
    (b"\x00\x00\x02\x00", "CUR"),
    (b"icns", "ICNS"),
    (b"\x00\x00\x00\x0cjP  ", "JPEG 2000"),
    (b"\xff\x4f\xff\x51", "JPEG 2000"),
    (b"8BPS", "PSD"),
    (b"%PDF", "PDF"),
    (b"%!PS", "PostScript"),
    (b"qoif", "QOI"),
    (b"DDS ", "DDS"),
    (b"v/1\x01", "OpenEXR"),
    (b"\xff\x0a", "JPEG XL"),
    (b"\x00\x00\x00\x0cJXL ", "JPEG XL"),
    (b"gimp xcf", "XCF"),
)
HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"heim", b"heis", b"mif1", b"msf1", b"avif", b"avis"}
DATA_URL = re.compile(r"^data:(?P<type>[^;,]*)(?P<params>(?:;[^;,]*)*),", re.IGNORECASE)


class ImageRejected(ValueError):
    """Base class: the input cannot be turned into an image we classify."""


class UndecodableImage(ImageRejected):
    """Not an image, a truncated or corrupt one, or malformed base64."""


class ImageTooLarge(ImageRejected):
    """More pixels (or bytes) than the service accepts."""


class ImageDataTooLarge(ImageTooLarge):
    """More bytes than the service accepts (a base64 text longer than the body limit)."""


class UnsupportedImageType(ImageRejected):
    """A real image (or a declared media type) outside the accepted formats."""


def decode_image(data: bytes, max_pixels: int, work_size: int | None = None) -> Image.Image:
    """Decode the first frame of a PNG/JPEG/WebP/GIF/BMP file (a JPEG as greyscale).

    ``work_size`` lets a big JPEG be decoded at a reduced scale (libjpeg's DCT scaling)
    when the caller will shrink it to that many pixels on the longer side anyway.
    """
    if not data:
        raise UndecodableImage("the image is empty (0 bytes)")
    check_webp_header(data, max_pixels)
    try:
        image = Image.open(io.BytesIO(data), formats=PILLOW_FORMATS)
    except Image.DecompressionBombError as exc:
        raise ImageTooLarge(f"the image has too many pixels ({exc})") from None
    except UnidentifiedImageError:
        foreign = foreign_format(data)
        if foreign:
            raise UnsupportedImageType(f"{foreign} images are not accepted; send {ACCEPTED_NAMES}") from None
        raise UndecodableImage(f"the data is not a readable image; send {ACCEPTED_NAMES}") from None
    except Exception as exc:  # any parser error on hostile input is the input's fault
        raise UndecodableImage(f"the image header is corrupt ({type(exc).__name__})") from None
    width, height = image.size
    if width < 1 or height < 1:
        raise UndecodableImage("the image has no pixels")
    if width * height > max_pixels:
        raise ImageTooLarge(
            f"the image is {width}x{height} = {width * height} pixels; the limit is {max_pixels} pixels"
        )
    try:
        if image.format in ("JPEG", "MPO"):
            # Decode the luminance only (colour is not needed), and a big photo at 1/2-1/8 scale.
            reduced = None
            if work_size and max(width, height) > 2 * work_size:
                scale = work_size / max(width, height)
                reduced = (max(1, int(width * scale)), max(1, int(height * scale)))
            image.draft("L", reduced)
        fast = decode_png(image, data)  # libspng for plain PNGs (same pixels, 4x quicker); else None
        if fast is not None:
            image = fast
        else:
            image.load()  # the first frame of an animation: Pillow opens at frame 0
        ImageOps.exif_transpose(image, in_place=True)  # phone photos: upright as seen
    except Image.DecompressionBombError as exc:
        raise ImageTooLarge(f"the image has too many pixels ({exc})") from None
    except Exception as exc:
        raise UndecodableImage(f"the image data is truncated or corrupt ({type(exc).__name__})") from None
    return image


def check_webp_header(data: bytes, max_pixels: int) -> None:
    """Refuse a huge WebP before Pillow opens it: libwebp allocates the whole canvas on open."""
    if not (data[:4] == b"RIFF" and data[8:12] == b"WEBP") or len(data) < 30:
        return
    chunk = data[12:16]
    size = None
    if chunk == b"VP8X":
        size = (int.from_bytes(data[24:27], "little") + 1, int.from_bytes(data[27:30], "little") + 1)
    elif chunk == b"VP8 " and data[23:26] == b"\x9d\x01\x2a":
        w, h = struct.unpack("<HH", data[26:30])
        size = (w & 0x3FFF, h & 0x3FFF)
    elif chunk == b"VP8L" and data[20] == 0x2F:
        bits = int.from_bytes(data[21:25], "little")
        size = ((bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1)
    if size and size[0] * size[1] > max_pixels:
        raise ImageTooLarge(
            f"the image is {size[0]}x{size[1]} = {size[0] * size[1]} pixels; the limit is {max_pixels} pixels"
        )


def foreign_format(data: bytes) -> str | None:
    """Name of a recognised image format we do not accept, from its first bytes."""
    for magic, name in FOREIGN_MAGIC:
        if data.startswith(magic):
            return name
    if data[4:8] == b"ftyp" and data[8:12] in HEIF_BRANDS:
        return "AVIF" if data[8:12] in (b"avif", b"avis") else "HEIF"
    head = data[:1024].lstrip().lower()
    if head.startswith(b"<svg") or (head.startswith(b"<?xml") and b"<svg" in head):
        return "SVG"
    return None


def image_bytes_from_text(text: str, max_bytes: int) -> bytes:
    """The bytes of a data URL (``data:image/png;base64,...``) or of plain base64."""
    text = text.strip()
    if not text:
        raise UndecodableImage("the image string is empty")
    match = DATA_URL.match(text)
    if match:
        media_type = match["type"].strip().lower()
        if media_type and media_type not in ACCEPTED_MEDIA_TYPES:
            raise UnsupportedImageType(f"data URLs of type {media_type!r} are not accepted; send {ACCEPTED_NAMES}")
        if ";base64" not in match["params"].lower():
            raise UndecodableImage("the data URL is not base64-encoded (';base64' is missing)")
        text = text[match.end() :]
    elif text.lower().startswith("data:"):
        raise UndecodableImage("malformed data URL: expected data:<type>;base64,<data>")
    compact = "".join(text.split())
    if len(compact) * 3 // 4 > max_bytes:
        raise ImageDataTooLarge(f"the image is larger than {max_bytes} bytes")
    if "-" in compact or "_" in compact:  # the URL-safe alphabet
        compact = compact.replace("-", "+").replace("_", "/")
    compact += "=" * (-len(compact) % 4)
    try:
        return base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError):
        raise UndecodableImage("the image is not valid base64") from None
