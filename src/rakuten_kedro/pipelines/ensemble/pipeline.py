"""The ensemble pipeline: majority vote of the members (``ensemble.members``), submission."""

from __future__ import annotations

from kedro.pipeline import Node, Pipeline

from rakuten_kedro.fusion.members import EnsembleMember, load_members
from rakuten_kedro.pipelines.ensemble.nodes import make_submission, vote_test, vote_validation


def create_pipeline(**kwargs) -> Pipeline:
    """Votes the members' predictions on validation (out-of-fold) and test rows; submission.

    Args:
        **kwargs: ``members`` (a list of ``EnsembleMember``) overrides the members read from
            ``ensemble.members`` in the parameters (for tests).

    Returns:
        The ensemble pipeline.
    """
    members: list[EnsembleMember] = kwargs.get("members") or load_members()
    return Pipeline(
        [
            Node(
                vote_validation,
                inputs=["products", "label_encoding", *(f"{m.name}.val_probs" for m in members)],
                outputs="ensemble.val_predictions",
                name="vote_validation_node",
                namespace="ensemble",
            ),
            Node(
                vote_test,
                inputs=[
                    "label_encoding",
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
