"""The fusions' fold networks read their arrays in whole batches."""

from __future__ import annotations

import numpy as np

from rakuten_kedro.fusion.fold_networks import array_loader


def test_array_loader_serves_whole_dict_batches():
    loader = array_loader(
        {"inputs": np.ones((10, 3)), "labels": np.arange(10)}, batch_size=4, shuffle=False
    )
    batches = list(loader)
    assert [len(batch["labels"]) for batch in batches] == [4, 4, 2]
    assert batches[0]["inputs"].dtype.is_floating_point and batches[0]["labels"].tolist() == [
        0,
        1,
        2,
        3,
    ]
    full = list(array_loader({"labels": np.arange(10)}, batch_size=0, shuffle=True))
    assert len(full) == 1 and sorted(full[0]["labels"].tolist()) == list(range(10))
