"""model/imageops.py: the one 3x3 dilation/erosion, against a pixel-by-pixel definition."""
import numpy as np
import pytest

from model.imageops import dilate3, erode3


def naive(image: np.ndarray, reduce) -> np.ndarray:
    """reduce over the 3x3 neighbourhood of every pixel, zero outside the image."""
    padded = np.pad(image, 1)
    h, w = image.shape
    return np.array([[reduce(padded[y : y + 3, x : x + 3]) for x in range(w)] for y in range(h)], image.dtype)


@pytest.mark.parametrize("shape", [(1, 1), (1, 5), (4, 1), (7, 9), (28, 28)])
def test_dilation_and_erosion_match_the_definition_on_images_and_batches(shape):
    rng = np.random.default_rng(sum(shape))
    batch = (rng.random((3, *shape), dtype=np.float32) - 0.2)  # negative values too (Lanczos ringing)
    for op, reduce in ((dilate3, np.max), (erode3, np.min)):
        out = op(batch)
        assert out.shape == batch.shape and out.dtype == batch.dtype
        for image, result in zip(batch, out):
            np.testing.assert_array_equal(result, naive(image, reduce))
            np.testing.assert_array_equal(op(image), result)  # one 2-D image alike


def test_the_input_is_not_modified():
    image = np.random.default_rng(0).random((6, 6), dtype=np.float32)
    before = image.copy()
    dilate3(image)
    erode3(image)
    np.testing.assert_array_equal(image, before)
