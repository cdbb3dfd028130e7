"""Demo data generator: determinism, layout, class counts, label noise, text and photos."""

from __future__ import annotations

import hashlib
import inspect
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from rakuten_kedro.codes import GROUP_OF_CODE, PRDTYPECODE_COUNTS, PRDTYPECODES
from rakuten_kedro.demo import DemoSummary, Difficulty, generate_demo_dataset
from rakuten_kedro.demo import generator as generator_module
from rakuten_kedro.demo.__main__ import main
from rakuten_kedro.demo.generator import class_counts
from rakuten_kedro.demo.images import (
    PROTOTYPE_OF_CODE,
    VISUAL_GROUPS,
    VISUAL_PROTOTYPES,
    draw_product_photo,
    draw_uninformative_photo,
)
from rakuten_kedro.demo.text import (
    CODE_VOCABULARY,
    TEXT_CLUSTER_OF_CODE,
    TEXT_CLUSTERS,
    ProductTextWriter,
)

SMALL = {
    "n_products": 270,
    "n_test": 54,
    "seed": 7,
    "label_noise": 0.1,
    "image_size": 24,
    "uninformative_photo_rate": 0.05,
    "min_per_class": 4,
    "progress": False,
}

#: ``_content_digests`` of ``SMALL`` with the default difficulty, recorded before the knobs.
DEFAULT_SMALL_DIGESTS = (
    "f878d93872d314b404a58d5b4a55b294721e82c1c72ff83ef8aaef105b40b377",
    "5a8fa2ae3d9449fff5bed06b67eb23c1eb8ad5ee4b1e8bb57cd55d0ce07fd2d0",
)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, DemoSummary]:
    out_dir = tmp_path_factory.mktemp("demo") / "data"
    return out_dir, generate_demo_dataset(out_dir, **SMALL)


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_same_arguments_give_identical_bytes(demo, tmp_path):
    out_dir, _ = demo
    generate_demo_dataset(tmp_path / "again", **SMALL)
    first, second = _files(out_dir), _files(tmp_path / "again")
    assert sorted(first) == sorted(second)
    assert len(first) == 6 + SMALL["n_products"] + SMALL["n_test"]
    assert first == second


def test_csvs_do_not_depend_on_photos_and_seed_matters(demo, tmp_path):
    out_dir, _ = demo
    generate_demo_dataset(
        tmp_path / "photos", **{**SMALL, "image_size": 16, "uninformative_photo_rate": 0.5}
    )
    assert (tmp_path / "photos" / "X_train_update.csv").read_bytes() == (
        out_dir / "X_train_update.csv"
    ).read_bytes()
    generate_demo_dataset(tmp_path / "seed", **{**SMALL, "seed": 8})
    assert (tmp_path / "seed" / "X_train_update.csv").read_bytes() != (
        out_dir / "X_train_update.csv"
    ).read_bytes()


def test_challengedata_layout(demo):
    out_dir, summary = demo
    n_train, n_test = SMALL["n_products"], SMALL["n_test"]
    header = (out_dir / "X_train_update.csv").read_text(encoding="utf-8").splitlines()[0]
    assert header == ",designation,description,productid,imageid"
    assert (out_dir / "Y_train_CVw08PX.csv").read_text().splitlines()[0] == ",prdtypecode"
    train = pd.read_csv(out_dir / "X_train_update.csv", index_col=0)
    test = pd.read_csv(out_dir / "X_test_update.csv", index_col=0)
    labels = pd.read_csv(out_dir / "Y_train_CVw08PX.csv", index_col=0)
    assert list(train.index) == list(range(n_train)) == list(labels.index)
    assert list(test.index) == list(range(n_train, n_train + n_test))
    assert list(test.columns) == ["designation", "description", "productid", "imageid"]
    ids = pd.concat([train, test])
    assert ids["productid"].is_unique and ids["imageid"].is_unique
    assert ids["productid"].min() >= 10**8 and ids["imageid"].min() >= 10**8
    for table, folder in ((train, "image_train"), (test, "image_test")):
        expected = {
            f"image_{i}_product_{p}.jpg"
            for p, i in zip(table.productid, table.imageid, strict=True)
        }
        assert {p.name for p in (out_dir / "images" / folder).iterdir()} == expected
    test_labels = pd.read_csv(out_dir / "demo_test_labels.csv")
    assert list(test_labels.columns) == ["row_id", "prdtypecode"]
    assert list(test_labels["row_id"]) == list(test.index)
    assert summary.out_dir == out_dir
    assert (summary.n_train, summary.n_test) == (n_train, n_test)


def test_class_counts_follow_published_proportions_with_a_floor(demo):
    assert class_counts(sum(PRDTYPECODE_COUNTS.values()), 0) == PRDTYPECODE_COUNTS
    counts = class_counts(3000, 40)
    assert sum(counts.values()) == 3000
    assert min(counts.values()) == 40
    assert max(counts, key=counts.get) == 2583
    assert 330 <= counts[2583] <= 370  # 10209 / 84916 of 3000 is 361, less what the floor took
    by_published = sorted(PRDTYPECODES, key=PRDTYPECODE_COUNTS.get)
    assert [counts[c] for c in by_published] == sorted(counts.values())
    with pytest.raises(ValueError, match="min_per_class=40"):
        class_counts(1000, 40)

    out_dir, summary = demo
    noise = pd.read_csv(out_dir / "demo_label_noise.csv")
    true_counts = noise["true_prdtypecode"].value_counts().to_dict()
    assert true_counts == summary.train_class_counts
    assert min(true_counts.values()) >= SMALL["min_per_class"]
    assert set(true_counts) == set(PRDTYPECODES)
    test_counts = pd.read_csv(out_dir / "demo_test_labels.csv")["prdtypecode"].value_counts()
    assert set(test_counts.index) == set(PRDTYPECODES)  # 54 test products: 2 per code


def test_label_noise_record_matches_the_labels(demo):
    out_dir, summary = demo
    noise = pd.read_csv(out_dir / "demo_label_noise.csv")
    assert list(noise.columns) == [
        "row_id", "productid", "imageid", "true_prdtypecode", "given_prdtypecode", "flipped",
    ]  # fmt: skip
    labels = pd.read_csv(out_dir / "Y_train_CVw08PX.csv", index_col=0)["prdtypecode"]
    train = pd.read_csv(out_dir / "X_train_update.csv", index_col=0)
    assert list(noise["row_id"]) == list(labels.index)
    assert (noise["given_prdtypecode"].to_numpy() == labels.to_numpy()).all()
    assert (noise["productid"].to_numpy() == train["productid"].to_numpy()).all()
    assert (noise["imageid"].to_numpy() == train["imageid"].to_numpy()).all()
    flipped = noise[noise["flipped"]]
    kept = noise[~noise["flipped"]]
    assert len(flipped) == summary.n_flipped == round(SMALL["label_noise"] * SMALL["n_products"])
    assert (flipped["true_prdtypecode"] != flipped["given_prdtypecode"]).all()
    assert (kept["true_prdtypecode"] == kept["given_prdtypecode"]).all()
    assert all(
        GROUP_OF_CODE[t] == GROUP_OF_CODE[g]
        for t, g in zip(flipped["true_prdtypecode"], flipped["given_prdtypecode"], strict=True)
    )


def test_descriptions_are_often_empty_and_html_like(demo):
    out_dir, summary = demo
    products = pd.concat(
        [
            pd.read_csv(out_dir / "X_train_update.csv", index_col=0),
            pd.read_csv(out_dir / "X_test_update.csv", index_col=0),
        ]
    )
    empty = products["description"].isna()
    assert 0.25 <= empty.mean() <= 0.45
    assert empty.sum() == summary.n_empty_descriptions
    assert products["designation"].notna().all()
    descriptions = products.loc[~empty, "description"]
    assert descriptions.str.contains("<br />|<br>|<p>", regex=True).mean() > 0.3
    assert descriptions.str.contains("&eacute;|&#39;|&amp;|&egrave;|&agrave;", regex=True).any()
    unclosed = descriptions.str.count("<p>") > descriptions.str.count("</p>")
    assert unclosed.any()


def test_photos_decode_at_the_requested_size(demo):
    out_dir, summary = demo
    photos = sorted((out_dir / "images").rglob("*.jpg"))
    assert len(photos) == SMALL["n_products"] + SMALL["n_test"]
    for path in photos[:40]:
        with Image.open(path) as photo:
            assert photo.format == "JPEG" and photo.mode == "RGB"
            assert photo.size == (SMALL["image_size"], SMALL["image_size"])
    assert 0 < summary.n_uninformative_photos < 0.15 * len(photos)
    assert inspect.signature(generate_demo_dataset).parameters["image_size"].default == 500


def test_photo_drawing_is_seeded_and_class_dependent():
    prototype = VISUAL_PROTOTYPES["water_oval"]
    photo = draw_product_photo(prototype, 0.0, 500, np.random.default_rng(1))
    assert photo.size == (500, 500) and photo.mode == "RGB"
    again = draw_product_photo(prototype, 0.0, 500, np.random.default_rng(1))
    assert np.array_equal(np.asarray(photo), np.asarray(again))
    # Pools are drawn blue: the mean colour of many photos is bluer than red.
    pixels = np.stack(
        [
            np.asarray(draw_product_photo(prototype, 0.0, 32, np.random.default_rng(s)))
            for s in range(20)
        ]
    ).astype(float)
    assert pixels[..., 2].mean() > pixels[..., 0].mean() + 10
    placeholder = draw_uninformative_photo(64, np.random.default_rng(3))
    assert placeholder.size == (64, 64)


def test_text_confusions_and_photo_confusions_are_complementary():
    # Codes that share text vocabulary must look different, and codes that look alike must
    # read differently: together, text and photo identify every code.
    for codes in TEXT_CLUSTERS.values():
        assert len({PROTOTYPE_OF_CODE[c] for c in codes}) == len(codes)
    for codes in VISUAL_GROUPS.values():
        clusters = [TEXT_CLUSTER_OF_CODE.get(c, f"own-{c}") for c in codes]
        assert len(set(clusters)) == len(codes)
    assert set(PROTOTYPE_OF_CODE) == set(PRDTYPECODES)


def test_paired_titles_name_their_own_product_first_and_a_siblings_last():
    # Only word order tells "Poussette ... Body" (1320) from "Body ... Poussette" (1301).
    writer = ProductTextWriter(paired_title_rate=1.0, stray_word_rate=0.0)
    baby, sibling = 1320, 1301
    for seed in range(30):
        title = writer.title(baby, np.random.default_rng(seed)).lower()
        own = [noun for noun in CODE_VOCABULARY[baby].nouns if noun.lower() in title]
        other = [noun for noun in CODE_VOCABULARY[sibling].nouns if title.endswith(noun.lower())]
        assert own and other, title
        assert title.index(own[0].lower()) < title.rindex(other[0].lower()), title
    unclustered = ProductTextWriter(paired_title_rate=1.0, stray_word_rate=0.0)
    for seed in range(10):
        title = unclustered.title(1560, np.random.default_rng(seed)).lower()
        assert not any(n.lower() in title for c in TEXT_CLUSTER_OF_CODE for n in
                       CODE_VOCABULARY[c].nouns if len(n) > 4), title  # fmt: skip


def test_refuses_a_non_empty_folder_and_cleans_up_after_failure(tmp_path, monkeypatch):
    out_dir = tmp_path / "data"
    out_dir.mkdir()
    (out_dir / "mine.txt").write_text("keep me")
    with pytest.raises(FileExistsError, match=r"data is not empty"):
        generate_demo_dataset(out_dir, **SMALL)
    assert (out_dir / "mine.txt").read_text() == "keep me"

    def broken_photo(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(generator_module, "draw_product_photo", broken_photo)
    with pytest.raises(RuntimeError, match="disk full"):
        generate_demo_dataset(tmp_path / "fresh", **SMALL)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data"]  # no half folder, no temp


def test_empty_existing_folder_is_filled(tmp_path):
    out_dir = tmp_path / "empty"
    out_dir.mkdir()
    small = {**SMALL, "n_products": 54, "n_test": 0, "min_per_class": 1, "image_size": 8}
    summary = generate_demo_dataset(out_dir, **small)
    assert summary.n_train == 54 and summary.n_test == 0
    assert len(list((out_dir / "images" / "image_train").iterdir())) == 54


def test_command_line(tmp_path, capsys):
    arguments = ["--out", str(tmp_path / "cli"), "--n-products", "54", "--n-test", "27",
                 "--min-per-class", "1", "--image-size", "8"]  # fmt: skip
    assert main(arguments) == 0
    assert "54 training + 27 test products" in capsys.readouterr().out
    assert (tmp_path / "cli" / "X_test_update.csv").exists()
    assert main(arguments) == 2
    assert "is not empty" in capsys.readouterr().err


def _content_digests(folder: Path, photo_pixels: list[bytes]) -> tuple[str, str]:
    """sha256 of the CSV and manifest bytes, and of the photos' pixels as drawn (before JPEG
    encoding, so a different libjpeg does not change it)."""
    tables = hashlib.sha256()
    for path in sorted(folder.glob("*.*")):
        tables.update(path.name.encode() + path.read_bytes())
    return tables.hexdigest(), hashlib.sha256(b"".join(photo_pixels)).hexdigest()


def test_default_difficulty_keeps_the_demo_unchanged(tmp_path, monkeypatch):
    # Recorded before the difficulty knobs existed: their defaults must give the same data.
    drawn: list[bytes] = []
    save = Image.Image.save
    monkeypatch.setattr(
        Image.Image,
        "save",
        lambda image, *a, **k: (drawn.append(image.tobytes()), save(image, *a, **k)),
    )
    generate_demo_dataset(tmp_path / "default", **SMALL)
    assert _content_digests(tmp_path / "default", drawn) == DEFAULT_SMALL_DIGESTS
    drawn.clear()
    generate_demo_dataset(tmp_path / "explicit", **SMALL, difficulty=Difficulty())
    assert _content_digests(tmp_path / "explicit", drawn) == DEFAULT_SMALL_DIGESTS


def test_difficulty_knobs_change_what_they_name(tmp_path):
    base = {**SMALL, "uninformative_photo_rate": 0.0}
    generate_demo_dataset(tmp_path / "demo", **base)
    generate_demo_dataset(
        tmp_path / "photos", **base, difficulty=Difficulty(class_hue_shift=40.0, hue_jitter=2.0)
    )
    # Photo knobs leave the text alone and change the pixels.
    assert (tmp_path / "photos" / "X_train_update.csv").read_bytes() == (
        tmp_path / "demo" / "X_train_update.csv"
    ).read_bytes()
    photo = sorted((tmp_path / "demo" / "images" / "image_train").iterdir())[0]
    assert (
        photo.read_bytes()
        != (tmp_path / "photos" / "images" / "image_train" / photo.name).read_bytes()
    )
    manifest = json.loads((tmp_path / "photos" / "demo_manifest.json").read_text())
    assert manifest["arguments"]["difficulty"]["hue_jitter"] == 2.0
    # Without shared words or paired titles a clustered code's title is its own vocabulary only.
    writer_free = ProductTextWriter(
        shared_word_rate=0.0, paired_title_rate=0.0, stray_word_rate=0.0
    )
    rng = np.random.default_rng(0)
    titles = [writer_free.title(1320, rng) for _ in range(50)]
    own = CODE_VOCABULARY[1320].nouns
    assert all(any(noun.lower() in title.lower() for noun in own) for title in titles)
    # Imbalance: power 0 spreads the products evenly, 2 exaggerates the published proportions.
    even = class_counts(2700, 10, weight_power=0.0)
    assert max(even.values()) - min(even.values()) <= 1
    steep = class_counts(2700, 10, weight_power=2.0)
    published = class_counts(2700, 10)
    assert max(steep.values()) > max(published.values())
    assert sorted(steep.values())[0] == 10


def test_difficulty_rejects_rates_out_of_range():
    with pytest.raises(ValueError, match="paired_title_rate must be in"):
        Difficulty(paired_title_rate=1.5)
    with pytest.raises(ValueError, match="hue_jitter must be at least 0"):
        Difficulty(hue_jitter=-1.0)
