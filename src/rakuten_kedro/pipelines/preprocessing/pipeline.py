"""The preprocessing pipeline: raw products to model-ready tables and the image cache."""

from kedro.pipeline import Node, Pipeline

from rakuten_kedro.pipelines.preprocessing.nodes import (
    clean_products,
    describe_image_cache,
    encode_labels,
    report_image_issues,
    select_validation_products,
    split_train_validation,
)


def create_pipeline(**kwargs) -> Pipeline:
    """Clean, encode, split, and build the decode-once image cache."""
    return Pipeline(
        [
            Node(
                clean_products, "raw_products", "intermediate_products", name="clean_products_node"
            ),
            Node(
                clean_products,
                "raw_test_products",
                "test_products",
                name="clean_test_products_node",
            ),
            Node(encode_labels, None, "label_encoding", name="encode_labels_node"),
            Node(
                split_train_validation,
                ["intermediate_products", "label_encoding", "params:preprocessing.split"],
                "products",
                name="split_train_validation_node",
            ),
            Node(
                select_validation_products,
                "products",
                "validation_products",
                name="select_validation_products_node",
            ),
            Node(
                describe_image_cache,
                ["products", "params:preprocessing.image_cache"],
                "image_cache",
                name="build_image_cache_node",
            ),
            Node(
                describe_image_cache,
                ["test_products", "params:preprocessing.image_cache"],
                "test_image_cache",
                name="build_test_image_cache_node",
            ),
            Node(
                report_image_issues,
                ["image_cache", "test_image_cache"],
                "image_issues",
                name="report_image_issues_node",
            ),
        ]
    )
