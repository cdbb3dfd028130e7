"""Tracking without a run: parameters within MLflow's limits, metric names, batching."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from kedro_mlflow.framework.hooks.mlflow_hook import _flatten_dict
from mlflow.utils.validation import (
    MAX_ENTITY_KEY_LENGTH,
    MAX_METRICS_PER_BATCH,
    MAX_PARAM_VAL_LENGTH,
)

from rakuten_kedro.config import ConfigError, FusionNetwork
from rakuten_kedro.tracking import (
    EpochMetrics,
    TrackingHooks,
    final_metrics,
    metric_key,
    mlflow_param,
    parameters_as_dicts,
    tracking_settings,
)


def test_a_long_value_is_cut_to_mlflows_limit_and_says_so():
    name, value = mlflow_param("fusion.networks", "x" * 10_000)
    assert name == "fusion.networks"
    assert len(value) == MAX_PARAM_VAL_LENGTH
    assert value.endswith("...[truncated, 10000 characters]")
    assert value.startswith("x" * 5000)


def test_short_values_and_keys_are_kept_as_they_are():
    assert mlflow_param("text_transformer.training.lr", 0.003) == (
        "text_transformer.training.lr",
        "0.003",
    )


def test_a_long_key_is_cut_with_a_digest_so_two_long_keys_stay_apart():
    first, _ = mlflow_param("a." * 200 + "one", 1)
    second, _ = mlflow_param("a." * 200 + "two", 1)
    assert len(first) == len(second) == MAX_ENTITY_KEY_LENGTH
    assert first != second and first[:200] == second[:200]


def test_metric_keys_are_valid_mlflow_names_grouped_by_training():
    assert metric_key("image_dcl_clean stage 2 (DCL)", "train_loss") == (
        "image_dcl_clean_stage_2_DCL/train_loss"
    )
    assert metric_key("fusion_x fold 3", "lr") == "fusion_x_fold_3/lr"


class _Client:
    def __init__(self) -> None:
        self.batches: list[list] = []

    def log_batch(self, run_id: str, metrics: list) -> None:
        assert run_id == "run"
        self.batches.append(list(metrics))


def test_epoch_metrics_are_buffered_then_sent_in_batches_within_mlflows_limit():
    client = _Client()
    observer = EpochMetrics(client, "run", every_s=3600)
    record = {"epoch": 2, "train_loss": 0.5, "val_macro_f1": 0.7, "lr": 0.01,
              "samples_per_s": 100.0, "seconds": 1.0, "val_accuracy": 0.8}  # fmt: skip
    for fold in range(300):
        observer(f"member fold {fold}", record)
    assert client.batches == []  # nothing sent while a node trains fast
    observer.flush()
    sizes = [len(batch) for batch in client.batches]
    assert sizes == [MAX_METRICS_PER_BATCH, 200]
    first = client.batches[0][0]
    assert (first.key, first.value, first.step) == ("member_fold_0/train_loss", 0.5, 2)
    keys = {metric.key.split("/")[1] for batch in client.batches for metric in batch}
    assert keys == {"train_loss", "val_macro_f1", "lr", "samples_per_s"}


def test_final_metrics_are_the_results_per_method():
    results = {"ensemble": {"macro_f1": 0.9, "accuracy": 0.92}, "text": {"macro_f1": 0.7}}
    assert final_metrics(results) == {
        "ensemble/macro_f1": 0.9,
        "ensemble/accuracy": 0.92,
        "text/macro_f1": 0.7,
    }


def test_the_tracking_settings_are_checked():
    settings = tracking_settings({"tracking": {"enabled": False, "registered_model": None}})
    assert (settings.enabled, settings.registered_model) == (False, None)
    with pytest.raises(ConfigError, match="tracking.enabeld"):
        tracking_settings({"tracking": {"enabeld": False, "registered_model": None}})


class _ConfigLoader:
    config_patterns: dict = {}

    def __getitem__(self, key: str) -> dict:
        return {}


def _context(params: dict) -> SimpleNamespace:
    return SimpleNamespace(params=params, config_loader=_ConfigLoader())


@pytest.mark.parametrize(("rank", "enabled", "tracks"), [
    ("0", True, True),
    ("1", True, False),  # under accelerate launch only rank 0 tracks
    ("0", False, False),
])  # fmt: skip
def test_only_rank_0_of_an_enabled_project_tracks(monkeypatch, rank, enabled, tracks):
    monkeypatch.setenv("RANK", rank)
    params = {"tracking": {"enabled": enabled, "registered_model": "rakuten_kedro"}}
    hooks, context = TrackingHooks(), _context(params)
    hooks.after_context_created(context)
    assert hooks._on is tracks
    assert hasattr(context, "mlflow")  # kedro mlflow ui's settings, tracking on or off


def test_typed_config_parameters_are_logged_key_by_key():
    # Kedro hands a params: input whose node annotates a config over as that config;
    # kedro-mlflow flattens only dicts, so the hook turns configs back into dicts first.
    table = object()
    inputs = {"params:network": FusionNetwork.parse({"hidden": 6, "residual": True}),
              "products": table}  # fmt: skip
    plain = parameters_as_dicts(inputs)
    assert plain["products"] is table  # data inputs are passed as they are
    flat = _flatten_dict({"network": plain["params:network"]}, recursive=True, sep=".")
    assert flat == {"network.hidden": 6, "network.residual": True}
