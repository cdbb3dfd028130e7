"""The ensemble pipeline: the members' vote (``grid.members``, ``ensemble.rule``), submission."""

from __future__ import annotations

from kedro.pipeline import Node, Pipeline

from rakuten_kedro.grid import Grid
from rakuten_kedro.pipelines.ensemble.nodes import make_submission, vote_test, vote_validation


def create_pipeline(grid: Grid) -> Pipeline:
    """Votes the members' predictions on validation (out-of-fold) and test rows under
    ``ensemble.rule``; the submission.

    Args:
        grid: The experiment grid of the environment (``grid.members`` vote).

    Returns:
        The ensemble pipeline.
    """
    members = grid.members
    return Pipeline(
        [
            Node(
                vote_validation,
                inputs=[
                    "products",
                    "label_encoding",
                    "params:ensemble",
                    *(f"{m.name}.val_probs" for m in members),
                ],
                outputs="ensemble.val_predictions",
                name="vote_validation_node",
                namespace="ensemble",
            ),
            Node(
                vote_test,
                inputs=[
                    "label_encoding",
                    "params:ensemble",
                    *(
                        name
                        for m in members
                        for name in (f"{m.name}.test_predictions", f"{m.name}.test_probs")
                    ),
                ],
                outputs="ensemble.test_predictions",
                name="vote_test_node",
                namespace="ensemble",
            ),
            Node(
                make_submission,
                inputs=["ensemble.test_predictions", "test_products"],
                outputs="submission",
                name="make_submission_node",
            ),
        ]
    )
