"""Region confusion keeps every pixel, moves cells locally, and reports where each came from."""

import pytest
import torch

from rakuten_kedro.vision.region_confusion import (
    alignment_target,
    apply_region_permutation,
    identity_permutation,
    region_confusion,
    region_permutation,
)


def _cell_ids(batch: int, grid: int, cell: int) -> torch.Tensor:
    """Images whose every pixel holds the index of its cell (channel 0) and a unique id (1)."""
    rows = torch.arange(grid).repeat_interleave(cell)
    ids = (rows[:, None] * grid + rows[None, :]).float()
    unique = torch.arange(grid * cell * grid * cell, dtype=torch.float32).view(grid * cell, -1)
    image = torch.stack([ids, unique, unique * 2])
    return image.expand(batch, -1, -1, -1).clone()


def test_permutation_is_a_bounded_permutation_of_cells():
    grid, window = 7, 2
    source = region_permutation(256, grid, window, generator=torch.Generator().manual_seed(0))
    assert source.shape == (256, 49)
    # Every destination shows a distinct original cell: a permutation of 0..48 per image.
    assert torch.equal(source.sort(dim=1).values, torch.arange(49).expand(256, -1))
    dest_rows, dest_cols = torch.arange(49) // grid, torch.arange(49) % grid
    row_shift = (source // grid - dest_rows).abs()
    col_shift = (source % grid - dest_cols).abs()
    # Local shuffles: no cell moves by 2k or more along a row or a column.
    assert row_shift.max() <= 2 * window - 1
    assert col_shift.max() <= 2 * window - 1
    # ...but it does shuffle (most images differ from the identity, rows and columns move).
    assert (source != torch.arange(49)).any(dim=1).float().mean() > 0.9
    assert row_shift.max() >= 1 and col_shift.max() >= 1


def test_window_zero_is_identity():
    source = region_permutation(4, 5, 0)
    assert torch.equal(source, identity_permutation(4, 5))


def test_destructed_image_keeps_every_pixel_and_matches_the_permutation():
    grid, cell = 4, 3
    images = _cell_ids(8, grid, cell)
    destructed, source = region_confusion(
        images, grid, 2, generator=torch.Generator().manual_seed(1)
    )
    assert destructed.shape == images.shape
    # Same multiset of pixel values per image and channel: nothing lost, nothing duplicated.
    for b in range(8):
        for c in range(3):
            assert torch.equal(destructed[b, c].flatten().sort().values,
                               images[b, c].flatten().sort().values)  # fmt: skip
    # Cell d of the destructed image is the original cell source[d] (read from channel 0).
    shown = destructed[:, 0, ::cell, ::cell].reshape(8, grid * grid).long()
    assert torch.equal(shown, source)


def test_odd_sizes_shuffle_the_centre_and_keep_the_border():
    images = torch.rand(2, 3, 23, 23)  # 7 x 3 px cells = 21 px core, 1 px border
    destructed, _ = region_confusion(images, 7, 2, generator=torch.Generator().manual_seed(2))
    assert torch.equal(destructed[:, :, 0], images[:, :, 0])
    assert torch.equal(destructed[:, :, :, -1], images[:, :, :, -1])
    assert torch.allclose(destructed.sum(dim=(2, 3)), images.sum(dim=(2, 3)))


def test_single_image_and_errors():
    destructed, source = region_confusion(torch.rand(3, 14, 14), 7, 1)
    assert destructed.shape == (3, 14, 14) and source.shape == (49,)
    with pytest.raises(ValueError, match="needs images >= 7 px"):
        apply_region_permutation(torch.rand(1, 3, 5, 5), identity_permutation(1, 7), 7)
    with pytest.raises(ValueError, match="does not match"):
        apply_region_permutation(torch.rand(2, 3, 14, 14), identity_permutation(1, 7), 7)


def test_alignment_target_is_centred_in_tanh_range():
    target = alignment_target(identity_permutation(1, 7), 7)
    assert target.shape == (1, 49)
    assert target[0, 24] == 0.0  # the centre cell
    assert target.min() >= -0.5 and target.max() < 0.5
