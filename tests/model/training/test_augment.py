"""model.training.augment: geometry, determinism, vectorisation, ink bookkeeping and the prefetcher."""

import threading

import numpy as np
import pytest

from model.training.augment import (
    AugmentConfig,
    AugmentParams,
    BackgroundBatches,
    _gaussian_matrix,
    apply_params,
    augment_batch,
    draw_params,
    elastic_fields,
)

NO_STROKE = dict(stroke_fraction=0.0)


@pytest.fixture(scope="module")
def digits(mnist) -> np.ndarray:
    """500 real training digits as float32 (500, 784) in [0, 1]."""
    return mnist.train_images[:500].reshape(500, 784).astype(np.float32) / 255.0


def plain_params(n: int, shift=(0.0, 0.0), inverse=None, stroke=0.0) -> AugmentParams:
    inv = np.tile(np.eye(2, dtype=np.float32), (n, 1, 1)) if inverse is None else inverse
    return AugmentParams(inv, np.tile(np.float32(shift), (n, 1)), None, np.full(n, stroke, np.float32))


def test_shapes_dtype_and_range_are_kept(digits):
    rng = np.random.default_rng(0)
    flat_in = digits.copy()
    flat = augment_batch(digits, rng)
    assert flat.shape == (500, 784) and flat.dtype == np.float32
    assert flat.min() >= 0.0 and flat.max() <= 1.0
    np.testing.assert_array_equal(digits, flat_in)  # the input is not modified
    square = augment_batch(digits.reshape(500, 28, 28), rng)
    assert square.shape == (500, 28, 28) and square.dtype == np.float32
    assert augment_batch(digits[:0], rng).shape == (0, 784)


def test_same_seed_same_batch_other_seed_other_batch(digits):
    a = augment_batch(digits, np.random.default_rng(7))
    b = augment_batch(digits, np.random.default_rng(7))
    c = augment_batch(digits, np.random.default_rng(8))
    np.testing.assert_array_equal(a, b)
    assert np.abs(a - c).mean() > 0.01


def test_identity_config_returns_the_input(digits):
    out = augment_batch(digits, np.random.default_rng(0), AugmentConfig.identity())
    np.testing.assert_array_equal(out, digits)


def test_integer_shift_moves_ink_exactly(digits):
    """A shift of (+3 x, -2 y) pixels is a translation: right 3 columns, up 2 rows, black fill."""
    images = digits[:20].reshape(20, 28, 28)
    out = apply_params(images, plain_params(20, shift=(3.0, -2.0)))
    expected = np.zeros_like(images)
    expected[:, :26, 3:] = images[:, 2:, :25]
    np.testing.assert_allclose(out, expected, atol=1e-6)


def test_rotation_by_90_degrees_about_the_centre():
    image = np.zeros((1, 28, 28), np.float32)
    image[0, 4, 20] = 1.0  # right of centre, near the top
    # inverse map (output offset -> input offset) of a 90-degree turn: (x, y) -> (y, -x)
    inverse = np.array([[[0.0, 1.0], [-1.0, 0.0]]], np.float32)
    out = apply_params(image, plain_params(1, inverse=inverse))
    # offsets (x, y) from the centre 13.5: input (6.5, -9.5) = (qy, -qx), so q = (9.5, 6.5)
    assert out[0, 20, 23] == pytest.approx(1.0) and out.sum() == pytest.approx(1.0)


def ink_ratio(out: np.ndarray, digits: np.ndarray) -> np.ndarray:
    return out.sum(axis=1) / digits.sum(axis=1)


def test_affine_augmentation_moves_ink_and_keeps_its_mass(digits):
    """Rotation, shear and shift have determinant 1: ink moves, its total stays (bar the border)."""
    config = AugmentConfig(scale=(1.0, 1.0), elastic_alpha=0, **NO_STROKE)
    out = augment_batch(digits, np.random.default_rng(1), config)
    ratio = ink_ratio(out, digits)
    assert np.median(ratio) == pytest.approx(1.0, abs=0.005) and ratio.min() > 0.95
    moved = np.abs(out - digits).sum(axis=1) / digits.sum(axis=1)
    assert np.median(moved) > 0.3  # a third of the ink mass is somewhere else


def test_elastic_distortion_moves_ink_and_keeps_its_mass_roughly(digits):
    """Local stretching and squeezing changes an image's ink by up to ~20%, not on average."""
    config = AugmentConfig(rotation_deg=0, scale=(1.0, 1.0), shear=0, shift_px=0, **NO_STROKE)
    out = augment_batch(digits, np.random.default_rng(1), config)
    ratio = ink_ratio(out, digits)
    assert np.median(ratio) == pytest.approx(1.0, abs=0.03)
    low, high = np.percentile(ratio, [5, 95])
    assert 0.75 < low and high < 1.3
    moved = np.abs(out - digits).sum(axis=1) / digits.sum(axis=1)
    assert np.median(moved) > 0.3


def test_scaling_scales_the_ink_area(digits):
    grow = AugmentConfig(rotation_deg=0, scale=(1.1, 1.1), shear=0, shift_px=0, elastic_alpha=0, **NO_STROKE)
    out = augment_batch(digits, np.random.default_rng(2), grow)
    assert np.median(ink_ratio(out, digits)) == pytest.approx(1.21, abs=0.03)


def test_a_batch_equals_the_same_draws_applied_image_by_image(digits):
    """Vectorisation check: no image's result depends on its neighbours in the batch."""
    batch = np.concatenate([digits, digits])  # 1000 images
    params = draw_params(1000, np.random.default_rng(3), AugmentConfig(stroke_fraction=1.0))
    together = apply_params(batch, params)
    one_by_one = np.concatenate([apply_params(batch[i:i + 1], params[i:i + 1]) for i in range(1000)])
    np.testing.assert_allclose(together, one_by_one, atol=1e-6)


def naive_neighbourhood(image: np.ndarray, reduce) -> np.ndarray:
    padded = np.pad(image, 1)
    return np.array([[reduce(padded[r:r + 3, c:c + 3]) for c in range(28)] for r in range(28)])


def test_stroke_change_is_grey_level_dilation_and_erosion(digits):
    images = digits[:3].reshape(3, 28, 28)
    thick = apply_params(images, plain_params(3, stroke=1.0))
    thin = apply_params(images, plain_params(3, stroke=-1.0))
    for i in range(3):
        np.testing.assert_allclose(thick[i], naive_neighbourhood(images[i], np.max), atol=1e-6)
        np.testing.assert_allclose(thin[i], naive_neighbourhood(images[i], np.min), atol=1e-6)
    half = apply_params(images, plain_params(3, stroke=0.5))
    np.testing.assert_allclose(half, (images + thick) / 2, atol=1e-6)


def test_default_stroke_change_hits_about_the_configured_share(digits):
    params = draw_params(4000, np.random.default_rng(4), AugmentConfig())
    changed = params.stroke != 0
    assert 0.45 < changed.mean() < 0.55
    assert 0.4 < (params.stroke[changed] > 0).mean() < 0.6
    assert params.stroke.max() <= 1.0 and params.stroke.min() >= -0.5


@pytest.mark.parametrize("sigma", [4.0, 6.0])
def test_elastic_fields_match_simard_smoothed_uniform_noise(sigma):
    """Sampled in the smoothing's eigenbasis, the fields have the statistics of G U G^T."""
    rng = np.random.default_rng(5)
    g = _gaussian_matrix(sigma)
    reference = g @ rng.uniform(-1, 1, (3000, 28, 28)).astype(np.float32) @ g.T
    fields = elastic_fields(3000, rng, sigma)
    assert fields.shape == (3000, 28, 28) and fields.dtype == np.float32
    assert abs(fields.mean()) < 0.1 * reference.std()
    for r, c in [(14, 14), (0, 0), (3, 20)]:  # centre, corner (reflection doubles it), elsewhere
        assert fields[:, r, c].std() == pytest.approx(reference[:, r, c].std(), rel=0.08)
    corr = [np.corrcoef(f[:, 14, 10], f[:, 14, 14])[0, 1] for f in (fields, reference)]
    assert corr[0] == pytest.approx(corr[1], abs=0.05)


def test_gaussian_matrix_preserves_constant_fields():
    g = _gaussian_matrix(6.0)
    np.testing.assert_allclose(g.sum(axis=1), 1.0, atol=1e-6)
    np.testing.assert_allclose(g, g.T, atol=1e-7)


def test_bad_inputs_and_configs_are_rejected(digits):
    rng = np.random.default_rng(0)
    with pytest.raises(TypeError, match="divide uint8 images by 255"):
        augment_batch((digits * 255).astype(np.uint8), rng)
    with pytest.raises(ValueError, match=r"expects \(n, 784\) or \(n, 28, 28\), got \(3, 100\)"):
        augment_batch(np.zeros((3, 100), np.float32), rng)
    with pytest.raises(ValueError, match="scale must be"):
        AugmentConfig(scale=(1.2, 0.8))
    with pytest.raises(ValueError, match="stroke_fraction must be in"):
        AugmentConfig(stroke_fraction=1.5)
    with pytest.raises(ValueError, match="2 parameter sets for 3 images"):
        apply_params(digits[:3], plain_params(2))


# --------------------------------------------------------------------------- prefetcher


def prefetch_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "augment-prefetch"]


def test_background_batches_yield_every_sample_once_per_epoch(mnist):
    images, ids = mnist.train_images[:1000], np.arange(1000)
    batches = BackgroundBatches(images, ids, 128, np.random.default_rng(0))
    assert len(batches) == 8
    epochs = []
    for _ in range(2):
        seen = []
        for x, y in batches:
            assert x.dtype == np.float32 and x.shape == (len(y), 784)
            assert 0.0 <= x.min() and x.max() <= 1.0
            seen.append(y)
        assert [len(y) for y in seen] == [128] * 7 + [104]
        order = np.concatenate(seen)
        np.testing.assert_array_equal(np.sort(order), ids)
        epochs.append(order)
    assert not np.array_equal(epochs[0], epochs[1])  # a new permutation each epoch
    assert not prefetch_threads()


def test_background_batches_pair_images_with_their_labels(mnist):
    images, labels = mnist.train_images[:300], mnist.train_labels[:300]
    for x, y in BackgroundBatches(images, np.arange(300), 64, np.random.default_rng(1), config=None):
        np.testing.assert_array_equal(x, images[y].reshape(len(y), 784) / np.float32(255))


def test_background_batches_are_deterministic_for_a_seed(mnist):
    images, labels = mnist.train_images[:512], mnist.train_labels[:512]

    def run(seed):
        return [(x, y) for x, y in BackgroundBatches(images, labels, 100, np.random.default_rng(seed))]

    first, again = run(3), run(3)
    for (xa, ya), (xb, yb) in zip(first, again, strict=True):
        np.testing.assert_array_equal(xa, xb)
        np.testing.assert_array_equal(ya, yb)


def test_leaving_an_epoch_early_stops_the_worker(mnist):
    batches = BackgroundBatches(mnist.train_images[:2000], mnist.train_labels[:2000], 32,
                                np.random.default_rng(0), prefetch=2)
    for i, _ in enumerate(batches):
        if i == 2:
            break
    assert not prefetch_threads()
    assert sum(len(y) for _, y in batches) == 2000  # still usable afterwards


def test_worker_errors_reach_the_trainer():
    images = np.zeros((10, 5, 5), np.float32)  # not 28x28: augmentation fails in the worker
    with pytest.raises(ValueError, match="cannot reshape"):
        list(BackgroundBatches(images, np.arange(10), 4, np.random.default_rng(0)))
    assert not prefetch_threads()


def test_one_epoch_at_a_time(mnist):
    batches = BackgroundBatches(mnist.train_images[:256], mnist.train_labels[:256], 64, np.random.default_rng(0))
    running = iter(batches)
    next(running)
    with pytest.raises(RuntimeError, match="already being iterated"):
        next(iter(batches))
    running.close()
    assert not prefetch_threads()
    with pytest.raises(ValueError, match="10 images but 9 labels"):
        BackgroundBatches(np.zeros((10, 784)), np.zeros(9), 4, np.random.default_rng(0))
