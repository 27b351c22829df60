"""model/artifacts/png.py: the project's one PNG writer, decoded by Pillow."""
import io

import numpy as np
from PIL import Image

from model.artifacts.png import encode_png, tile


def test_png_encoder_round_trips_through_pillow():
    image = np.arange(28 * 30, dtype=np.uint8).reshape(28, 30)
    np.testing.assert_array_equal(np.array(Image.open(io.BytesIO(encode_png(image)))), image)
    floats = np.linspace(0, 1, 12, dtype=np.float32).reshape(3, 4)
    decoded = np.array(Image.open(io.BytesIO(encode_png(floats))))
    np.testing.assert_array_equal(decoded, np.round(floats * 255).astype(np.uint8))
    grid = tile(np.ones((3, 2, 2)), columns=2, scale=2, gap=1)
    assert grid.shape == (2 * 5 + 1, 2 * 5 + 1) and grid[1, 1] == 1.0 and grid[0, 0] == 0.5


def test_floats_round_half_up_and_every_level_decodes_alike():
    """The server's preview (level 1) and the evaluate CLI's images (level 9) hold the same pixels."""
    floats = np.array([[0.5 / 255, 1.5 / 255, 126.5 / 255, 1.2, -0.1]], dtype=np.float32)
    for level in (1, 9):
        decoded = np.array(Image.open(io.BytesIO(encode_png(floats, level=level))))
        np.testing.assert_array_equal(decoded, [[1, 2, 127, 255, 0]])
