"""PNG pixels from libspng (the pyspng package) instead of Pillow's decoder, where both give the same.

Why: inflating and unfiltering the page's 280x280 RGBA canvas PNG was the largest single cost
of a /predict (about 450 us with Pillow, 100 us with libspng on this machine; same pixels).
Only the plain cases are taken: 8 bits per channel, grey / RGB / RGBA, no tRNS
chunk, not animated. Everything else (grey + alpha, palette, 16-bit, sub-byte grey, APNG, colour-keyed
transparency) and any file libspng refuses (a bad CRC, truncation) goes to Pillow exactly as
before, so the answers to broken files do not change. Pillow has already read the header and
the pixel limit has been checked when this runs. Without pyspng installed, Pillow decodes all.
"""
from __future__ import annotations

import numpy as np
from PIL import Image

try:
    import pyspng
except ImportError:  # optional: Pillow is the fallback
    pyspng = None

# PNG colour type (IHDR) -> Pillow mode of an 8-bit image of that type (grey + alpha, type 4:
# libspng 0.7 has no output format for it, Pillow decodes those)
COLOUR_TYPES = {0: "L", 2: "RGB", 6: "RGBA"}
IHDR_AT = 8 + 4 + 4  # signature, chunk length, "IHDR"


def decode_png(image: Image.Image, data: bytes) -> Image.Image | None:
    """The decoded first frame of the PNG that `image` (opened by Pillow, not loaded) is, or None.

    The result is a Pillow image over libspng's buffer (no copy), in the mode Pillow would
    have given; None means: let Pillow's own load() decode it.
    """
    if pyspng is None or image.format != "PNG" or len(data) < IHDR_AT + 13:
        return None
    bit_depth, colour_type = data[IHDR_AT + 8], data[IHDR_AT + 9]
    mode = COLOUR_TYPES.get(colour_type)
    if bit_depth != 8 or mode is None or image.mode != mode or "transparency" in image.info \
            or getattr(image, "is_animated", False) or b"eXIf" in data:
        return None  # (an eXIf chunk after the pixels: Pillow finds the orientation only as it loads)
    try:
        pixels = pyspng.load(data)
    except Exception:  # libspng refuses the file: Pillow says what is wrong with it, as before
        return None
    width, height = image.size
    expected = (height, width) if mode == "L" else (height, width, len(mode))
    if pixels.dtype != np.uint8 or pixels.shape != expected or not pixels.flags.c_contiguous:
        return None
    decoded = Image.frombuffer(mode, (width, height), pixels, "raw", mode, 0, 1)
    decoded.info.update(image.info)  # exif_transpose reads the EXIF orientation from here
    return decoded
