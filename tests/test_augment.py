"""Augmentation keeps digits recognisable: transforms do what they say, seeded, and off at strength 0."""

from dataclasses import replace

import numpy as np
import pytest

from scipy import ndimage

from digitnet.data import Split
from digitnet.training.augmentation import (Augmentation, EpochDistortions, affine_matrices, augment, change_thickness,
                                            elastic_displacements, example_grid, plus_extreme, random_warps,
                                            sampling_points, warp, warp_matrices)

STRONG = Augmentation(shift=2, rotation=15, scale=0.15, shear=15, elastic=1.5, thickness=0.6)


def digit_like(n: int = 6, seed: int = 0) -> np.ndarray:
    """(n, 784) float32 blobs and strokes away from the border, like centred MNIST digits."""
    rng = np.random.default_rng(seed)
    rows, cols = np.mgrid[0:28, 0:28]
    images = np.zeros((n, 28, 28), np.float32)
    for i in range(n):
        r, c = rng.uniform(10, 18, 2)
        images[i] = np.exp(-((rows - r) ** 2 / 18 + (cols - c) ** 2 / 6))
        images[i, 8:20, int(c)] = 1.0
    return images.reshape(n, -1)


def centre_of_mass(images: np.ndarray) -> np.ndarray:
    """(n, 784) -> (n, 2) ink-weighted (row, col)."""
    stack = images.reshape(-1, 28, 28)
    rows, cols = np.mgrid[0:28, 0:28]
    mass = stack.sum(axis=(1, 2))
    return np.stack([(stack * rows).sum(axis=(1, 2)) / mass, (stack * cols).sum(axis=(1, 2)) / mass], 1)


def test_all_strengths_zero_return_the_input_unchanged():
    images = digit_like()
    out = augment(images, np.random.default_rng(0), Augmentation())
    np.testing.assert_array_equal(out, images)
    assert out is not images


def test_identity_warp_returns_the_input():
    images = digit_like()
    n = len(images)
    out = warp(images.reshape(n, 28, 28), np.tile(np.eye(2), (n, 1, 1)), np.zeros((n, 2)))
    np.testing.assert_allclose(out.reshape(n, -1), images, atol=1e-6)


def test_a_shift_moves_the_centre_of_mass_by_the_shift():
    images = digit_like()
    n = len(images)
    shifts = np.array([[2, -1], [-2, 3], [0.5, 0.25], [1, 1], [-1.5, 0], [0, -2]])
    out = warp(images.reshape(n, 28, 28), np.tile(np.eye(2), (n, 1, 1)), shifts).reshape(n, -1)
    np.testing.assert_allclose(centre_of_mass(out) - centre_of_mass(images), shifts, atol=0.02)


def test_random_shifts_move_the_centre_by_at_most_the_strength():
    images = digit_like(50)
    out = augment(images, np.random.default_rng(1), Augmentation(shift=2))
    moved = np.abs(centre_of_mass(out) - centre_of_mass(images))
    assert moved.max() <= 2 + 0.02 and moved.max() > 1


def test_rotation_scale_and_shear_carry_the_centre_of_mass_along():
    images = digit_like(20)
    augmentation = Augmentation(rotation=15, scale=0.1, shear=10)
    out = augment(images, np.random.default_rng(2), augmentation)
    matrices, _ = affine_matrices(np.random.default_rng(2), 20, augmentation)  # the same draws
    centre = np.array([13.5, 13.5])
    expected = np.einsum("nij,nj->ni", matrices, centre_of_mass(images) - centre) + centre
    np.testing.assert_allclose(centre_of_mass(out), expected, atol=0.1)
    assert np.abs(out - images).max() > 0.3


def test_a_quarter_turn_rotates_the_picture():
    image = np.zeros((1, 28, 28), np.float32)
    image[0, 4:8, 12:16] = 1  # a square above the centre
    quarter = np.array([[[0.0, -1.0], [1.0, 0.0]]])
    out = warp(image, quarter, np.zeros((1, 2)))
    np.testing.assert_allclose(out[0], np.rot90(image[0]), atol=1e-5)


def test_scaling_grows_the_ink_area_by_the_square_of_the_factor():
    images = digit_like(1)
    grown = warp(images.reshape(1, 28, 28), np.array([[[1.2, 0], [0, 1.2]]]), np.zeros((1, 2)))
    assert grown.sum() / images.sum() == pytest.approx(1.2**2, rel=0.03)


def test_elastic_fields_are_smooth_with_the_requested_size():
    fields = elastic_displacements(np.random.default_rng(0), 8, rms=1.5, smoothness=4.0)
    assert fields.shape == (2, 8, 28, 28)
    np.testing.assert_allclose(np.sqrt((fields**2).mean(axis=(0, 2, 3))), 1.5, rtol=1e-5)
    neighbour_change = np.abs(np.diff(fields, axis=-1)).mean()
    assert neighbour_change < 0.2 * np.abs(fields).mean()


def test_thickness_thickens_thins_and_keeps():
    images = digit_like(3).reshape(3, 28, 28)
    out = change_thickness(images, np.array([1.0, -1.0, 0.0]))
    ink_before, ink_after = images.sum(axis=(1, 2)), out.sum(axis=(1, 2))
    assert ink_after[0] > 1.2 * ink_before[0]
    assert ink_after[1] < 0.8 * ink_before[1]
    np.testing.assert_array_equal(out[2], images[2])


def test_augmentation_is_a_pure_function_of_the_generator_seed():
    images = digit_like(16)
    first = augment(images, np.random.default_rng([3, 1, 4, 1]), STRONG)
    again = augment(images, np.random.default_rng([3, 1, 4, 1]), STRONG)
    other = augment(images, np.random.default_rng([3, 1, 5, 1]), STRONG)
    np.testing.assert_array_equal(first, again)
    assert not np.allclose(first, other)


def test_images_stay_separate_in_the_stacked_batch():
    images = digit_like(8)
    together = augment(images, np.random.default_rng(7), STRONG)
    alone = np.zeros_like(images)
    alone[3] = images[3]
    apart = augment(alone, np.random.default_rng(7), STRONG)
    np.testing.assert_allclose(apart[3], together[3], atol=1e-6)
    np.testing.assert_array_equal(apart[[0, 1, 2, 4, 5, 6, 7]], 0)


def test_output_keeps_shape_dtype_and_range():
    images = digit_like(5)
    out = augment(images, np.random.default_rng(0), STRONG)
    assert out.shape == images.shape and out.dtype == np.float32
    assert out.min() >= 0 and out.max() <= 1


def test_affine_parameters_stay_within_their_strengths():
    matrices, shifts = affine_matrices(np.random.default_rng(0), 500, Augmentation(shift=1.5, scale=0.1))
    assert np.abs(shifts).max() <= 1.5
    zoom = np.sqrt(np.abs(np.linalg.det(matrices)))
    assert zoom.min() >= 0.9 - 1e-9 and zoom.max() <= 1.1 + 1e-9


@pytest.mark.parametrize("bad", [dict(shift=-1), dict(scale=1.0), dict(thickness=1.5), dict(pen_skips=1.5),
                                 dict(rotation=float("nan")), dict(elastic_smoothness=0)])
def test_invalid_strengths_are_refused(bad):
    with pytest.raises(ValueError):
        Augmentation(**bad)


def test_example_grid_shows_each_distortion_alone_then_all_together():
    images = digit_like(3)
    columns = example_grid(images, Augmentation(shift=2, elastic=1.0, thickness=0.5), np.random.default_rng(0), mixed=2)
    assert list(columns) == ["original", "shift", "elastic", "thickness", "all 1", "all 2"]
    np.testing.assert_array_equal(columns["original"], images)
    shifted = columns["shift"]
    np.testing.assert_allclose(shifted.sum(axis=1), images.sum(axis=1), rtol=0.02)  # a shift only moves ink
    assert all(c.shape == images.shape for c in columns.values())


def test_plot_augment_draws_the_best_recipes_distortions(tmp_path, capsys):
    from digitnet.cli import main

    assert main(["plot", "augment", "--count", "2", "--out", str(tmp_path / "grid")]) == 0
    assert (tmp_path / "grid.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert main(["plot", "augment", "--recipe", "seed", "--out", str(tmp_path / "none.png")]) == 2
    assert "does not augment" in capsys.readouterr().err


def test_thickness_uses_the_grey_dilation_and_erosion_of_a_plus():
    from scipy import ndimage

    images = digit_like(4).reshape(4, 28, 28)
    plus = np.array([[0, 1, 0], [1, 1, 1], [0, 1, 0]], bool)[None]
    np.testing.assert_allclose(change_thickness(images, np.ones(4)),
                               ndimage.grey_dilation(images, footprint=plus, mode="constant"), atol=1e-6)
    np.testing.assert_allclose(change_thickness(images, -np.ones(4)),
                               ndimage.grey_erosion(images, footprint=plus, mode="constant"), atol=1e-6)


def test_a_warp_matrix_resamples_exactly_as_map_coordinates(rng):
    images = rng.random((5, 28, 28))
    matrices, shifts = affine_matrices(rng, 5, STRONG)
    points = sampling_points(matrices, shifts, elastic_displacements(rng, 5, 1.5, 4.0))
    points[0, :, :50] = rng.uniform(-3, 31, (2, 50))  # some far outside the image
    for image, where, matrix in zip(images, points, warp_matrices(points, np.float64)):
        expected = ndimage.map_coordinates(image, where, order=1, mode="grid-constant", cval=0.0)
        np.testing.assert_allclose(matrix @ image.ravel(), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("extreme,oracle", [(np.maximum, ndimage.grey_dilation), (np.minimum, ndimage.grey_erosion)])
def test_the_plus_shaped_dilation_and_erosion_are_scipys(rng, extreme, oracle):
    images = rng.random((4, 28, 28)).astype(np.float32)
    plus = np.zeros((1, 3, 3), bool)
    plus[0, 1, :] = plus[0, :, 1] = True
    np.testing.assert_array_equal(plus_extreme(images, extreme), oracle(images, footprint=plus, mode="constant", cval=0))


def test_an_epochs_distortions_are_each_images_thickness_change_then_one_of_the_banks_warps():
    images = digit_like(40)
    split = Split(images, np.arange(40))
    distorted, position = EpochDistortions(split, STRONG, seed=3).epoch(2)
    assert sorted(position) == list(range(40)) and np.array_equal(distorted.labels[position], np.arange(40))
    bank = random_warps(np.random.default_rng([3, 0, 2]), 256, STRONG)  # epoch 2 uses the bank of epochs 0-3
    rng = np.random.default_rng([3, 2, 1])
    thickness = rng.uniform(-STRONG.thickness, STRONG.thickness, 40)
    which = rng.integers(0, 256, 40)
    for i in range(40):
        thicker = change_thickness(images[i].reshape(1, 28, 28), thickness[i : i + 1]).ravel()
        expected = np.clip(bank[which[i]] @ thicker, 0, 1)
        np.testing.assert_allclose(distorted.images[position[i]], expected, atol=1e-6)


def test_epoch_distortions_are_a_pure_function_of_seed_and_epoch_and_differ_between_epochs():
    split = Split(digit_like(30), np.arange(30))
    first = EpochDistortions(split, STRONG, seed=1)
    (distorted, position), (again, again_position) = first.epoch(5), EpochDistortions(split, STRONG, seed=1).epoch(5)
    assert np.array_equal(distorted.images, again.images) and np.array_equal(position, again_position)
    images_of = lambda result: result[0].images[result[1]]  # noqa: E731  (in the images' own order)
    assert not np.allclose(images_of(first.epoch(4)), images_of(first.epoch(5)))
    assert not np.allclose(images_of(first.epoch(5)), images_of(EpochDistortions(split, STRONG, seed=2).epoch(5)))
    assert len({tuple(np.round(d, 3)) for d in images_of(first.epoch(5)) - split.images}) == 30  # each its own


def test_pen_skips_cut_a_share_of_an_epochs_images_after_the_same_warps():
    images = digit_like(200)
    split = Split(images, np.arange(200))
    with_skips = replace(STRONG, pen_skips=0.5)
    skipped, position = EpochDistortions(split, with_skips, seed=3).epoch(2)
    plain, plain_position = EpochDistortions(split, STRONG, seed=3).epoch(2)
    assert np.array_equal(position, plain_position)  # the warps and thicknesses are drawn as without skips
    lost = plain.images.sum(axis=1) - skipped.images.sum(axis=1)
    assert (skipped.images <= plain.images + 1e-6).all()  # ink is only taken away
    cut = lost > 0.5
    assert 0.35 < cut.mean() < 0.65 and np.allclose(skipped.images[~cut], plain.images[~cut])
    assert np.array_equal(EpochDistortions(split, with_skips, seed=3).epoch(2)[0].images, skipped.images)
