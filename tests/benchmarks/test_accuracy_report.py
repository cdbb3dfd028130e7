"""accuracy_report: each method scored over the seeds it ran on, differences on shared seeds."""

import accuracy
import accuracy_report
import numpy as np
import pytest

N_CLASSES = 27


@pytest.fixture
def store(tmp_path, monkeypatch):
    """A setting whose rows are stored, in a scratch store of its own."""
    monkeypatch.setattr(accuracy, "SCRATCH", tmp_path)
    setting = accuracy.SETTING_BY_NAME["demo_like"]
    labels = np.tile(np.arange(N_CLASSES), 10)
    rows = accuracy.Rows(
        codes=np.arange(N_CLASSES) + 10, val_row_ids=np.arange(54), val_labels=labels[:54],
        test_row_ids=np.arange(len(labels)), test_labels=labels,
        train_row_ids=np.arange(3), train_given=np.zeros(3, int), train_flipped=np.zeros(3, bool),
    )  # fmt: skip
    path = accuracy.rows_path(setting)
    path.parent.mkdir(parents=True)
    np.savez(path, **rows.__dict__)
    return setting, labels


def _with_errors(labels: np.ndarray, wrong: int) -> np.ndarray:
    """``labels`` with the first ``wrong`` rows predicted as the next class."""
    predicted = labels.copy()
    predicted[:wrong] = (predicted[:wrong] + 1) % N_CLASSES
    return predicted


def test_a_method_run_on_fewer_seeds_keeps_its_seeds_and_pairs_on_them(store):
    setting, labels = store
    one_hot = np.eye(N_CLASSES, dtype=np.float32)
    for seed, wrong in ((0, 10), (1, 30)):
        accuracy.save_method(
            setting, seed, "default.ensemble",
            test_pred=_with_errors(labels, wrong), val_pred=_with_errors(labels[:54], 0),
        )  # fmt: skip
    # Only seed 0 ran the reference image model (a later seed ran the default `kedro run` alone).
    accuracy.save_method(
        setting, 0, "image.resnet18_64px_e12",
        test_probs=one_hot[labels], val_probs=one_hot[labels[:54]],
    )  # fmt: skip

    scored = accuracy_report.score_setting(setting, [0, 1])

    ensemble = scored["methods"]["default.ensemble"]
    reference = scored["methods"]["image.resnet18_64px_e12"]
    assert ensemble["seeds"] == [0, 1] and reference["seeds"] == [0]
    assert reference["test_macro_f1_mean"] == 1.0
    assert ensemble["test_macro_f1_sd"] > 0
    difference = scored["paired_differences"]["image.resnet18_64px_e12 vs default.ensemble"]
    assert difference["seeds"] == [0]
    assert difference["mean"] == pytest.approx(1 - ensemble["test_macro_f1_per_seed"][0], abs=1e-4)
    assert difference["ci95"][0] > 0
    result = {"settings": {"demo_like": {"role": "tuning", **scored}}}
    tables = accuracy_report.readme_tables(result)
    reference_row = next(line for line in tables if "(`image.resnet18_64px_e12`)" in line)
    assert reference_row.endswith("| 100.0 [100.0, 100.0] (1 of 2 seeds) |")
    assert tables[0] == "| method | demo_like (2 seeds) |"


def test_clean_label_twins_are_their_source_settings_with_no_label_flipped():
    for clean in accuracy.CLEAN_LABEL_SETTINGS:
        source = accuracy_report.source_setting(clean)
        assert clean.role == "diagnostic" and source.role == "tuning"
        assert clean.label_noise == 0 < source.label_noise
        assert clean.generator_arguments() | {"label_noise": source.label_noise} == (
            source.generator_arguments()
        )


def test_a_clean_label_twin_is_paired_with_its_source_on_the_same_test_rows(store, monkeypatch):
    source, labels = store
    clean = accuracy.replace(source, name="demo_like_clean_labels", role="diagnostic")
    monkeypatch.setitem(accuracy_report.SETTING_BY_NAME, clean.name, clean)
    accuracy.rows_path(clean).parent.mkdir(parents=True)
    np.savez(accuracy.rows_path(clean), **np.load(accuracy.rows_path(source)))
    runs = {  # (setting, method) -> wrong predictions on each seed
        (clean, "default_all_rows.ensemble"): 10, (source, "default_all_rows.ensemble"): 30,
        (source, "default.ensemble"): 20,
    }  # fmt: skip
    for (setting, method), wrong in runs.items():
        for seed in (0, 1):
            accuracy.save_method(
                setting, seed, method, test_pred=_with_errors(labels, wrong), val_pred=labels[:54]
            )
    # The source's text model ran on seed 0 only: paired on that seed; the twin's never ran.
    accuracy.save_method(source, 0, "default_all_rows.text_tfidf", test_probs=np.eye(27)[labels])

    compared = accuracy_report.clean_label_differences(clean)

    assert compared["source"] == "demo_like"
    pairs = {(p["clean_method"], p["source_method"]): p for p in compared["pairs"]}
    assert list(pairs) == [
        ("default_all_rows.ensemble", "default_all_rows.ensemble"),
        ("default_all_rows.ensemble", "default.ensemble"),
    ]
    f1 = {
        wrong: accuracy_report.macro_f1(labels, _with_errors(labels, wrong))
        for wrong in runs.values()
    }
    for (_, source_method), pair in pairs.items():
        given = f1[runs[(source, source_method)]]
        assert pair["difference"]["seeds"] == [0, 1]
        assert pair["clean"] == pytest.approx(f1[10], abs=1e-4)
        assert pair["difference"]["mean"] == pytest.approx(f1[10] - given, abs=1e-4)
        assert pair["difference"]["ci95"][0] > 0
    table = accuracy_report.clean_label_table({"clean_labels": {clean.name: compared}})
    assert table[3].startswith(
        "| demo_like (2 seeds) | `default_all_rows.ensemble` | `default.ensemble` |"
    )


def test_a_clean_label_twin_with_other_test_rows_is_an_error(store, monkeypatch):
    source, labels = store
    clean = accuracy.replace(source, name="demo_like_clean_labels", role="diagnostic")
    monkeypatch.setitem(accuracy_report.SETTING_BY_NAME, clean.name, clean)
    accuracy.rows_path(clean).parent.mkdir(parents=True)
    rows = dict(np.load(accuracy.rows_path(source)))
    np.savez(accuracy.rows_path(clean), **(rows | {"test_row_ids": rows["test_row_ids"] + 1}))
    for setting in (source, clean):
        accuracy.save_method(
            setting, 0, "default_all_rows.ensemble", test_pred=labels, val_pred=labels[:54]
        )

    with pytest.raises(ValueError, match="demo_like_clean_labels: its test rows are not demo_like"):
        accuracy_report.clean_label_differences(clean)
