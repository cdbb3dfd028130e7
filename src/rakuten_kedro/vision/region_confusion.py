"""DCL's region confusion mechanism: destruct an image by shuffling its grid cells locally.

Destruction and Construction Learning (Chen et al., CVPR 2019) cuts each image into an
``N × N`` grid and shuffles the cells *locally*: within each row, cell ``i`` goes to the rank
of ``i + r`` with ``r ~ U(-k, k)`` (so no cell moves by ``2k`` or more), then the same within
each column. The network must classify the destructed image too (forcing local, part-level
features), tell it apart from the original (adversarial head) and predict where each cell
came from (alignment head).

We follow the paper's formula rather than the public code's pairwise running shuffle: the
formula bounds every cell's displacement by ``2k - 1`` (rows and columns separately), which is
what "local" means and what the tests check. Everything is batched tensor code (one random
permutation per image), so it runs on the training device without a Python loop per cell.
"""

from __future__ import annotations

import torch

#: DCL's defaults: a 7×7 grid, neighbourhood range k = 2.
DEFAULT_GRID = 7
DEFAULT_WINDOW = 2


def _local_ranks(
    batch: int, lines: int, length: int, window: int, *, generator: torch.Generator | None, device
) -> torch.Tensor:
    """One local permutation per (image, line): ``argsort(i + U(-k, k))``.

    Returns ``perm`` of shape (batch, lines, length) where ``perm[..., i]`` is the position
    (along the line) whose cell lands at ``i``.
    """
    jitter = torch.rand((batch, lines, length), generator=generator, device=device)
    keys = torch.arange(length, device=device, dtype=torch.float32) + (2 * jitter - 1) * window
    return torch.argsort(keys, dim=-1)


def region_permutation(
    batch: int,
    grid: int = DEFAULT_GRID,
    window: int = DEFAULT_WINDOW,
    *,
    generator: torch.Generator | None = None,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """Draw one region-confusion permutation per image.

    Cells are shuffled within each row first, then within each column (each row and each
    column gets its own random permutation), as in the DCL paper.

    Args:
        batch: Number of permutations (images).
        grid: ``N``: the image is cut into ``N × N`` cells.
        window: ``k``: the neighbourhood range; a cell moves by at most ``2k - 1`` cells
            along a row and along a column.
        generator: Optional torch random generator (on ``device``) for reproducibility.
        device: Device of the returned tensor.

    Returns:
        ``source`` of shape (batch, N*N), dtype long: ``source[b, d]`` is the raster index
        (``row * N + col``) of the original cell shown at destination cell ``d``.
    """
    if grid < 1:
        raise ValueError(f"region confusion: grid must be >= 1, got {grid}")
    if window < 0:
        raise ValueError(f"region confusion: window must be >= 0, got {window}")
    # Row step: within each row r, destination column c shows source column row_perm[r, c].
    row_perm = _local_ranks(
        batch, grid, grid, window, generator=generator, device=device
    )  # (B, row, col)
    # Column step, applied to the row-shuffled grid: within each column c, destination row r
    # shows the row-shuffled cell at row col_perm[c, r].
    col_perm = _local_ranks(
        batch, grid, grid, window, generator=generator, device=device
    )  # (B, col, row)
    rows = col_perm.transpose(1, 2)  # (B, r, c): source row of the cell at (r, c)
    # The cell now at (r, c) was at (rows[r, c], c) after the row step, i.e. originally at
    # (rows[r, c], row_perm[rows[r, c], c]).
    cols = torch.gather(row_perm, 1, rows)
    return (rows * grid + cols).reshape(batch, grid * grid)


def apply_region_permutation(images: torch.Tensor, source: torch.Tensor, grid: int) -> torch.Tensor:
    """Rearrange the grid cells of a batch of images.

    When the side is not a multiple of ``grid``, only the centred ``grid * (side // grid)``
    square is cut into cells; the thin border stays in place (so every pixel is kept).

    Args:
        images: (B, C, H, W) tensor, any dtype.
        source: (B, N*N) long tensor from :func:`region_permutation`.
        grid: ``N``.

    Returns:
        A new (B, C, H, W) tensor whose cell ``d`` is the input's cell ``source[:, d]``.
    """
    if images.ndim != 4:
        raise ValueError(f"region confusion expects (B, C, H, W) images, got {tuple(images.shape)}")
    batch, channels, height, width = images.shape
    if source.shape != (batch, grid * grid):
        raise ValueError(
            f"region confusion: permutation shape {tuple(source.shape)} does not match "
            f"{batch} images on a {grid}x{grid} grid"
        )
    cell_h, cell_w = height // grid, width // grid
    if cell_h == 0 or cell_w == 0:
        raise ValueError(f"region confusion: a {grid}x{grid} grid needs images >= {grid} px")
    top, left = (height - cell_h * grid) // 2, (width - cell_w * grid) // 2
    core = images[:, :, top : top + cell_h * grid, left : left + cell_w * grid]
    # (B, C, N, h, N, w) -> (B, N*N, C, h, w): one entry per cell, raster order.
    cells = core.reshape(batch, channels, grid, cell_h, grid, cell_w)
    cells = cells.permute(0, 2, 4, 1, 3, 5).reshape(batch, grid * grid, channels, cell_h, cell_w)
    index = source.to(images.device).view(batch, grid * grid, 1, 1, 1)
    moved = torch.gather(cells, 1, index.expand_as(cells))
    moved = moved.reshape(batch, grid, grid, channels, cell_h, cell_w).permute(0, 3, 1, 4, 2, 5)
    out = images.clone()
    out[:, :, top : top + cell_h * grid, left : left + cell_w * grid] = moved.reshape(
        batch, channels, grid * cell_h, grid * cell_w
    )
    return out


def region_confusion(
    images: torch.Tensor,
    grid: int = DEFAULT_GRID,
    window: int = DEFAULT_WINDOW,
    *,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Destruct a batch of images with DCL's region confusion.

    Args:
        images: (B, C, H, W) or a single (C, H, W) image.
        grid: ``N`` of the ``N × N`` grid (DCL: 7).
        window: Neighbourhood range ``k`` (DCL: 2).
        generator: Optional torch random generator (on the images' device).

    Returns:
        ``(destructed, source)``: the destructed images (same shape) and the (B, N*N)
        permutation (for one image: (N*N,)) giving each destination cell's original index.
    """
    single = images.ndim == 3
    batch = images.unsqueeze(0) if single else images
    source = region_permutation(
        batch.shape[0], grid, window, generator=generator, device=batch.device
    )
    destructed = apply_region_permutation(batch, source, grid)
    return (destructed[0], source[0]) if single else (destructed, source)


def alignment_target(source: torch.Tensor, grid: int) -> torch.Tensor:
    """Regression target of DCL's alignment head: each cell's original position.

    As in the DCL code, a cell's position is its raster index centred and scaled to
    ``[-0.5, 0.5)`` (``(index - N²//2) / N²``), matching the head's tanh output range.

    Args:
        source: (B, N*N) long tensor of original cell indices (identity for originals).
        grid: ``N``.

    Returns:
        (B, N*N) float32 tensor.
    """
    cells = grid * grid
    return (source.float() - cells // 2) / cells


def identity_permutation(batch: int, grid: int, device=None) -> torch.Tensor:
    """The (B, N*N) permutation of an undestructed image (every cell at its own place)."""
    return torch.arange(grid * grid, device=device).expand(batch, -1)
