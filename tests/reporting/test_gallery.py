"""The notebook's product gallery: photos in a grid, missing ones shown as such."""

from __future__ import annotations

from rakuten_kedro.reporting.gallery import product_gallery
from tests.fixtures import write_photo


def test_gallery_shows_photos_and_marks_missing_ones(tmp_path):
    write_photo(tmp_path / "a.jpg", seed=0)
    figure = product_gallery(
        [str(tmp_path / "a.jpg"), str(tmp_path / "missing.jpg"), str(tmp_path / "a.jpg")],
        ["Piscine | true 2583 → 2582", "Puzzle | true 1281 → 1280", "Lot"],
        columns=2,
    )
    axes = figure.axes
    assert len(axes) == 4  # 2 × 2 grid, the last cell left empty
    assert axes[0].get_title().startswith("Piscine") and axes[0].get_images()
    assert [text.get_text() for text in axes[1].texts] == ["no photo"]
    assert not axes[3].get_images()
