"""What the packaged model stores about the method is plain JSON, whatever Kedro hands over."""

from __future__ import annotations

import json

from rakuten_kedro.config import FusionNetwork, Predict
from rakuten_kedro.serving.package import plain_value


def test_typed_configs_kedro_hands_over_are_stored_as_plain_values():
    # Kedro gives a params: dataset whose node annotates a typed config as that config.
    network = FusionNetwork.parse({"hidden": 6, "residual": True})
    value = plain_value({"networks": {"two_layer": network}, "names": ("a", "b"), "n": 3})
    assert value == {"networks": {"two_layer": {"hidden": 6, "residual": True}},
                     "names": ["a", "b"], "n": 3}  # fmt: skip
    assert json.loads(json.dumps(value)) == value
    assert FusionNetwork.parse(value["networks"]["two_layer"]) == network  # parsed back alike


def test_none_stays_none():
    predict = Predict.parse({"input_dir": None, "top_k": 3, "low_confidence_below": 0.5})
    assert plain_value(predict) == {"input_dir": None, "top_k": 3, "low_confidence_below": 0.5}
