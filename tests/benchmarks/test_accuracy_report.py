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
