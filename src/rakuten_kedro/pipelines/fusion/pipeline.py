"""The fusion pipeline: one decision-level fusion per ensemble member, and the baselines.

- ``fusion_folds``: the K folds of the validation rows, shared by every fusion below.
- One namespace per ensemble member (``grid.members`` in ``parameters_grid.yml``):
  ``{member}.val_probs`` (out-of-fold), ``{member}.test_probs``, ``{member}.test_predictions``
  (the K fold networks' vote), ``{member}.metrics``, ``{member}.fusion_model``.
- ``stacking_logreg.*``: logistic regression over the baseline member's 54 inputs, same folds.
- ``feature_fusion_{concat,sum,attention}.*``: feature-level fusion of the baseline member's
  text and image features, same folds.

The baselines are comparisons, not the submission: they run over the inputs of the baseline
member (``grid.baseline_member``), the first member whose text variant is a transformer, since
feature fusion reads the text variant's features (a TF-IDF variant has none); ``parse_grid``
refuses a grid without one. Which member the headline ``decision_fusion`` row shows is chosen
later, by validation macro-F1 (the reporting pipeline).
"""

from __future__ import annotations

from functools import partial, update_wrapper

from kedro.pipeline import Node, Pipeline

from rakuten_kedro.grid import EnsembleMember, Grid
from rakuten_kedro.models.fusion import FEATURE_FUSION_MODES
from rakuten_kedro.pipelines.fusion.nodes import (
    assign_fusion_folds,
    fuse_member,
    stack_fusion_inputs,
    train_decision_fusion,
    train_feature_fusion,
    train_stacking,
)


def _stack_inputs_node() -> Node:
    return Node(
        stack_fusion_inputs,
        inputs=[
            "text_val_probs",
            "image_val_probs",
            "text_test_probs",
            "image_test_probs",
            "products",
            "label_encoding",
        ],
        outputs="fusion_inputs",
        name="stack_fusion_inputs_node",
    )


def _member_inputs(member: EnsembleMember) -> dict[str, str]:
    return {
        "text_val_probs": f"{member.text}.val_probs",
        "image_val_probs": f"{member.image}.val_probs",
        "text_test_probs": f"{member.text}.test_probs",
        "image_test_probs": f"{member.image}.test_probs",
    }


def decision_fusion_pipeline(member: EnsembleMember) -> Pipeline:
    """One member's decision-level fusion, under the member's namespace."""
    template = Pipeline(
        [
            _stack_inputs_node(),
            Node(
                update_wrapper(
                    partial(train_decision_fusion, member=member.name), train_decision_fusion
                ),  # fmt: skip
                inputs=[
                    "fusion_inputs",
                    "fusion_folds",
                    "params:network",
                    "params:fusion.cross_validation",
                    "params:fusion.training",
                    "params:fusion.decisions",
                    "checkpoints",
                ],
                outputs=["fusion_model", "val_probs", "metrics"],
                name="train_decision_fusion_node",
            ),
        ]
    )
    return Pipeline(
        template,
        namespace=member.name,
        inputs={
            "products": "products",
            "label_encoding": "label_encoding",
            "fusion_folds": "fusion_folds",
            "checkpoints": "checkpoints",
            **_member_inputs(member),
        },
        parameters={
            "params:network": f"params:fusion.networks.{member.network}",
            "params:fusion.cross_validation": "params:fusion.cross_validation",
            "params:fusion.training": "params:fusion.training",
            "params:fusion.decisions": "params:fusion.decisions",
        },
    )


def member_inference(member: EnsembleMember, split: str) -> Pipeline:
    """``member``'s saved fold networks applied to its text and image variants' probabilities
    of ``split`` (``test`` at training time, ``new`` in the predict pipeline):
    ``{member}.{split}_probs`` and ``{member}.{split}_predictions``."""
    return Pipeline(
        [
            Node(
                fuse_member,
                [
                    "fusion_model",
                    f"{member.text}.{split}_probs",
                    f"{member.image}.{split}_probs",
                    "label_encoding",
                ],
                [f"{split}_probs", f"{split}_predictions"],
                name=f"fuse_{split}_node",
            )
        ],
        namespace=member.name,
        inputs={f"{member.text}.{split}_probs", f"{member.image}.{split}_probs", "label_encoding"},
    )


def stacking_pipeline(member: EnsembleMember) -> Pipeline:
    """Logistic-regression stacking on ``member``'s inputs, namespace ``stacking_logreg``."""
    template = Pipeline(
        [
            Node(
                train_stacking,
                inputs=[
                    "fusion_inputs",
                    "fusion_folds",
                    "params:fusion.stacking",
                    "params:fusion.cross_validation",
                ],
                outputs=["val_probs", "test_probs", "test_predictions", "metrics"],
                name="train_stacking_node",
            )
        ]
    )
    return Pipeline(
        template,
        namespace="stacking_logreg",
        inputs={"fusion_inputs": f"{member.name}.fusion_inputs", "fusion_folds": "fusion_folds"},
        parameters={"params:fusion.stacking", "params:fusion.cross_validation"},
    )


def _feature_fusion_func(mode: str):
    # One node per mode; the mode is structure (the output names), not a parameter.
    return update_wrapper(partial(train_feature_fusion, mode=mode), train_feature_fusion)


def feature_fusion_pipeline(member: EnsembleMember) -> Pipeline:
    """Feature-level fusion of ``member``'s text and image features, one namespace per mode."""
    return Pipeline(
        [
            Node(
                _feature_fusion_func(mode),
                inputs=[
                    f"{member.text}.val_features",
                    f"{member.image}.val_features",
                    "products",
                    "label_encoding",
                    "fusion_folds",
                    "params:feature_fusion",
                    "params:fusion.cross_validation",
                    "checkpoints",
                ],
                outputs=[f"feature_fusion_{mode}.val_probs", f"feature_fusion_{mode}.metrics"],
                name=f"train_feature_fusion_{mode}_node",
                namespace=f"feature_fusion_{mode}",
            )
            for mode in FEATURE_FUSION_MODES
        ]
    )


def create_pipeline(grid: Grid) -> Pipeline:
    """Decision-level fusion for every ensemble member, plus the stacking and feature baselines
    (over the baseline member's inputs: the first member with a transformer text variant).

    Args:
        grid: The experiment grid of the environment.

    Returns:
        The fusion pipeline.
    """
    members, baseline = grid.members, grid.baseline_member
    folds = Pipeline(
        [
            Node(
                assign_fusion_folds,
                inputs=["products", "params:fusion.cross_validation"],
                outputs="fusion_folds",
                name="assign_fusion_folds_node",
            )
        ]
    )
    return sum(
        (decision_fusion_pipeline(member) + member_inference(member, "test") for member in members),
        start=folds + stacking_pipeline(baseline) + feature_fusion_pipeline(baseline),
    )
