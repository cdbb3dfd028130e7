"""The whole method as one MLflow model: products in, top-3 codes out.

``package`` builds the model from a finished training run (the trained text, image and fusion
models, the label encoding, the parameters the predict pipeline reads and the experiment grid);
``model.MethodModel`` answers requests by running the ``predict`` pipeline itself (the same
Kedro nodes as ``kedro run --pipelines predict``) on them; ``requests`` turns a request table
(title, description, photo as base64 or a path) into the folder that pipeline reads.
"""
