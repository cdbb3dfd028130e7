"""The file MLflow stores as the model's code ("models from code"): it names the model class.

MLflow runs this file to load the model, so the model folder holds readable code and plain
files, never a pickle.
"""

import mlflow

from rakuten_kedro.serving.model import MethodModel

mlflow.models.set_model(MethodModel())
