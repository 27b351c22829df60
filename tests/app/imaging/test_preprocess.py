"""The MNIST recipe on drawings rendered here: size, position, polarity, transparency, stroke, encoding."""
from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from app.imaging.decode import decode_image
from app.imaging.preprocess import CENTRE, WORK_SIZE, EmptyImage, preprocess
from testkit.drawings import STYLES, encode, stroke_mask, styled
from tests.support import preprocess_golden

MAX_PIXELS = 16_000_000


def vector_of(data: bytes) -> np.ndarray:
    return preprocess(decode_image(data, MAX_PIXELS, work_size=WORK_SIZE)).vector


def field_of(image: Image.Image) -> np.ndarray:
    return vector_of(encode(image, "PNG")).reshape(28, 28)


def ink_rows_cols(field: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    ys, xs = np.nonzero(field > 0)
    return ys, xs


def centre_of_mass(field: np.ndarray) -> tuple[float, float]:
    mass = field.sum()
    return float(field.sum(axis=1) @ np.arange(28)) / mass, float(field.sum(axis=0) @ np.arange(28)) / mass


def assert_mnist_like(field: np.ndarray) -> None:
    """Longer side 20 px inside the central 20x20 box, centre of mass within a pixel of the centre.

    MNIST puts the centre of mass on pixel index 14.0 (its measured mean), half a pixel
    right of and below the geometric centre 13.5, with whole-pixel shifts: a symmetric
    20 px digit therefore starts on row 4 or 5. The box check allows that one pixel.
    """
    assert field.shape == (28, 28) and field.dtype == np.float32
    assert field.min() >= 0.0 and field.max() == pytest.approx(1.0)
    ys, xs = ink_rows_cols(field)
    height, width = ys.max() - ys.min() + 1, xs.max() - xs.min() + 1
    assert max(height, width) in (20, 21), (height, width)
    box = (ys.min(), ys.max(), xs.min(), xs.max())
    assert ys.min() >= 4 and xs.min() >= 4 and ys.max() <= 24 and xs.max() <= 24, box
    cy, cx = centre_of_mass(field)
    assert abs(cy - 13.5) <= 1.0 and abs(cx - 13.5) <= 1.0, (cy, cx)
    assert abs(cy - CENTRE) <= 0.75 and abs(cx - CENTRE) <= 0.75, (cy, cx)


DRAWINGS = preprocess_golden.DRAWINGS


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("name", sorted(DRAWINGS))
def test_drawing_becomes_an_mnist_style_field(name: str, style: str) -> None:
    field = field_of(styled(stroke_mask(**DRAWINGS[name]), style))
    assert_mnist_like(field)


@pytest.mark.parametrize("name", ["centred", "off_centre", "thick", "huge_2000"])
def test_jpeg_drawing_becomes_an_mnist_style_field(name: str) -> None:
    image = styled(stroke_mask(**DRAWINGS[name]), "dark_on_light")
    assert_mnist_like(vector_of(encode(image, "JPEG", quality=85)).reshape(28, 28))


def aligned_difference(a: np.ndarray, b: np.ndarray) -> float:
    """Mean absolute difference at the best whole-pixel alignment (centring rounds to whole pixels)."""
    return min(
        float(np.abs(np.roll(a, (dy, dx), axis=(0, 1)) - b).mean()) for dy in (-1, 0, 1) for dx in (-1, 0, 1)
    )


def test_position_and_size_do_not_matter() -> None:
    reference = field_of(styled(stroke_mask("zero", 280, box=(90, 40, 190, 240), width=20), "alpha_only"))
    for size, box, width in [
        (280, (10, 10, 60, 110), 10),  # small, in a corner
        (1000, (500, 100, 900, 900), 80),  # big canvas
        (100, (30, 10, 70, 90), 8),  # small canvas
    ]:
        moved = field_of(styled(stroke_mask("zero", size, box=box, width=width), "alpha_only"))
        assert aligned_difference(moved, reference) < 0.02


@pytest.mark.parametrize(
    "size,box,thin_width,normal_width",
    [
        (280, (80, 40, 200, 240), 1, 22),
        (2000, (300, 200, 1700, 1800), 2, 160),
    ],
)
def test_thin_strokes_on_big_canvases_are_thickened_not_faint(size, box, thin_width, normal_width) -> None:
    thin = field_of(styled(stroke_mask("zero", size, box=box, width=thin_width), "dark_on_light"))
    normal = field_of(styled(stroke_mask("zero", size, box=box, width=normal_width), "dark_on_light"))
    assert thin.max() == pytest.approx(1.0)
    # Ink comparable to a normal MNIST-width pen, and strokes at least two pixels wide.
    assert thin.sum() >= 0.6 * normal.sum()
    assert (thin >= 0.5).sum() >= 0.5 * (normal >= 0.5).sum()


def test_specks_and_faint_noise_are_ignored() -> None:
    mask = stroke_mask("plus", 280, box=(100, 60, 180, 220), width=16)
    clean = field_of(styled(mask, "dark_on_light"))
    dirty = mask.copy()
    dirty[10:14, 10:14] = 255  # a speck in a corner
    dirty[265:268, 250:253] = 255  # and another
    rng = np.random.default_rng(0)
    grey = 255 - dirty.astype(np.int16) - rng.integers(0, 12, dirty.shape)  # paper texture, < 5% contrast
    noisy = field_of(Image.fromarray(np.clip(grey, 0, 255).astype(np.uint8), "L"))
    assert np.abs(noisy - clean).max() < 0.05


REFERENCE_MASK = dict(shape="seven", size=280, box=(70, 50, 210, 236), width=16)

LOSSLESS = {
    "png_grey": lambda m: encode(styled(m, "dark_on_light"), "PNG"),
    "png_light_on_dark": lambda m: encode(styled(m, "light_on_dark"), "PNG"),
    "png_alpha_only": lambda m: encode(styled(m, "alpha_only"), "PNG"),
    "png_light_on_transparent": lambda m: encode(styled(m, "light_on_transparent"), "PNG"),
    "png_rgb_blue": lambda m: encode(styled(m, "blue_on_white"), "PNG"),
    "png_palette": lambda m: encode(styled(m, "dark_on_light").convert("P"), "PNG"),
    "png_16bit": lambda m: encode(Image.fromarray(((255 - m.astype(np.uint16)) * 257).astype("<u2")), "PNG"),
    "bmp": lambda m: encode(styled(m, "dark_on_light"), "BMP"),
    "bmp_rgb": lambda m: encode(styled(m, "dark_on_light").convert("RGB"), "BMP"),
    "gif": lambda m: encode(styled(m, "dark_on_light"), "GIF"),
    "webp_lossless": lambda m: encode(styled(m, "alpha_only"), "WEBP", lossless=True),
}
LOSSY = {
    "jpeg_q95": lambda m: encode(styled(m, "dark_on_light"), "JPEG", quality=95),
    "jpeg_q75": lambda m: encode(styled(m, "dark_on_light"), "JPEG", quality=75),
    "jpeg_rgb_inverted": lambda m: encode(styled(m, "light_on_dark").convert("RGB"), "JPEG", quality=90),
    "webp_lossy": lambda m: encode(styled(m, "dark_on_light"), "WEBP", quality=90),
}


@pytest.fixture(scope="module")
def reference_vector() -> np.ndarray:
    return vector_of(encode(styled(stroke_mask(**REFERENCE_MASK), "dark_on_light"), "PNG"))


@pytest.mark.parametrize("encoding", sorted(LOSSLESS))
def test_same_drawing_same_vector_lossless(encoding: str, reference_vector: np.ndarray) -> None:
    vector = vector_of(LOSSLESS[encoding](stroke_mask(**REFERENCE_MASK)))
    assert np.abs(vector - reference_vector).max() < 0.01


@pytest.mark.parametrize("encoding", sorted(LOSSY))
def test_same_drawing_nearly_same_vector_lossy(encoding: str, reference_vector: np.ndarray) -> None:
    vector = vector_of(LOSSY[encoding](stroke_mask(**REFERENCE_MASK)))
    assert np.abs(vector - reference_vector).mean() < 0.01
    assert np.abs(vector - reference_vector).max() < 0.15


def test_big_16_bit_greyscale_png() -> None:
    mask = stroke_mask("plus", 1500, box=(300, 200, 1200, 1300), width=90)
    data = encode(Image.fromarray(((255 - mask.astype(np.uint16)) * 257).astype("<u2")), "PNG")
    assert Image.open(io.BytesIO(data)).mode == "I;16"
    assert_mnist_like(vector_of(data).reshape(28, 28))


def test_animated_gif_uses_its_first_frame() -> None:
    first = styled(stroke_mask("one", 200, width=14), "dark_on_light")
    second = styled(stroke_mask("zero", 200, width=14), "dark_on_light")
    buf = io.BytesIO()
    first.save(buf, "GIF", save_all=True, append_images=[second], duration=100, loop=0)
    assert np.abs(vector_of(buf.getvalue()) - vector_of(encode(first, "PNG"))).max() < 0.01


@pytest.mark.parametrize(
    "image",
    [
        Image.new("L", (280, 280), 255),
        Image.new("L", (280, 280), 0),
        Image.new("RGBA", (280, 280), (0, 0, 0, 0)),
        Image.new("RGBA", (280, 280), (255, 255, 255, 0)),
        Image.new("RGB", (64, 64), (120, 130, 140)),
        Image.fromarray(np.random.default_rng(1).integers(250, 256, (280, 280)).astype(np.uint8), "L"),
        Image.new("L", (1, 1), 0),
    ],
    ids=["white", "black", "transparent", "transparent_white", "grey", "faint_noise", "one_pixel"],
)
def test_images_without_ink_are_empty(image: Image.Image) -> None:
    with pytest.raises(EmptyImage):
        vector_of(encode(image, "PNG"))


def test_blank_jpeg_is_empty_despite_compression_noise() -> None:
    with pytest.raises(EmptyImage):
        vector_of(encode(Image.new("L", (280, 280), 255), "JPEG", quality=30))


def test_preview_is_the_28x28_field_the_model_sees() -> None:
    result = preprocess(decode_image(encode(styled(stroke_mask("one"), "alpha_only"), "PNG"), MAX_PIXELS))
    preview = Image.open(io.BytesIO(result.preview_png))
    assert preview.format == "PNG" and preview.size == (28, 28) and preview.mode == "L"
    assert np.abs(np.asarray(preview) / 255.0 - result.vector.reshape(28, 28)).max() <= 1 / 255
    assert result.vector.shape == (784,) and result.vector.dtype == np.float32


# --- properties: any image, any mode and size -> an MNIST-style vector or EmptyImage ----------

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

MODES = ["1", "L", "P", "RGB", "RGBA", "LA", "PA", "CMYK", "YCbCr", "I", "I;16", "F", "La", "RGBa"]
SIZES = st.one_of(
    st.tuples(st.integers(1, 80), st.integers(1, 80)),
    st.tuples(st.just(1), st.integers(1, 3000)),  # 1xN
    st.tuples(st.integers(1, 3000), st.just(1)),  # Nx1
    st.tuples(st.integers(600, 1400), st.integers(600, 1400)),  # above WORK_SIZE: reduced first
)


@st.composite
def random_images(draw) -> Image.Image:
    """A random mode and size; content solid, noise, or shapes of random colours on a random ground."""
    mode = draw(st.sampled_from(MODES))
    width, height = draw(SIZES)
    content = draw(st.sampled_from(["solid", "noise", "shapes"]))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    base = Image.new("RGBA", (width, height), tuple(int(v) for v in rng.integers(0, 256, 4)))
    if content == "noise":
        base = Image.fromarray(rng.integers(0, 256, (height, width, 4), dtype=np.uint8), "RGBA")
    elif content == "shapes":
        from PIL import ImageDraw

        pen = ImageDraw.Draw(base)
        for _ in range(draw(st.integers(1, 4))):
            x0, x1 = sorted(int(v) for v in rng.integers(0, width, 2))
            y0, y1 = sorted(int(v) for v in rng.integers(0, height, 2))
            colour = tuple(int(v) for v in rng.integers(0, 256, 4))
            pen.line([(x0, y0), (x1, y1)], fill=colour, width=int(rng.integers(1, 30)))
            pen.rectangle([x0, y0, x1, y1], outline=colour, width=int(rng.integers(1, 5)))
    if mode in ("I", "I;16", "F"):
        grey = np.asarray(base.convert("L"), np.float32)
        scale = {"I": 257.0, "I;16": 257.0, "F": draw(st.sampled_from([1.0, 1 / 255.0, 1000.0]))}[mode]
        values = grey * scale
        if mode == "I;16":
            return Image.fromarray(values.astype("<u2"))
        return Image.fromarray(values.astype(np.int32 if mode == "I" else np.float32), mode)
    image = base.convert(mode) if mode not in ("La", "RGBa", "PA") else base.convert("RGBA").convert(mode)
    if mode == "P" and draw(st.booleans()):
        image.info["transparency"] = int(rng.integers(0, 256))
    return image


def assert_model_input_or_empty(image: Image.Image) -> None:
    try:
        result = preprocess(image)
    except EmptyImage:
        return
    vector = result.vector
    assert vector.shape == (784,) and vector.dtype == np.float32
    assert np.isfinite(vector).all() and vector.min() >= 0.0 and vector.max() <= 1.0
    assert vector.max() > 0.0  # not EmptyImage: there is ink in the field
    assert Image.open(io.BytesIO(result.preview_png)).size == (28, 28)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(image=random_images())
def test_any_image_gives_a_valid_vector_or_empty(image: Image.Image) -> None:
    assert_model_input_or_empty(image)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(image=random_images(), fmt=st.sampled_from(["PNG", "GIF", "BMP", "WEBP", "JPEG"]))
def test_any_encoded_image_gives_a_valid_vector_or_empty(image: Image.Image, fmt: str) -> None:
    """Through the decoder, as the service sees it (a mode the format cannot hold is converted first)."""
    try:
        data = encode(image, fmt)
    except (OSError, ValueError, KeyError):  # e.g. CMYK as PNG: convert as an image editor would
        rgba = image.convert("LA" if image.mode == "La" else "RGBA").convert("RGBA")
        data = encode(rgba.convert({"JPEG": "RGB", "BMP": "RGB", "GIF": "P"}.get(fmt, "RGBA")), fmt)
    assert_model_input_or_empty(decode_image(data, MAX_PIXELS, work_size=WORK_SIZE))
