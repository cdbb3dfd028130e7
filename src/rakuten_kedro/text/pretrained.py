"""Pretrained encoders from a hub id or a local folder, failing fast when neither is reachable.

A run with no network must not hang on download retries: the hub is probed once with a short
timeout, offline mode is switched on when it does not answer, and a missing model stops the run
at once with the commands that fix it.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import huggingface_hub
import torch
from huggingface_hub import constants as hub_constants
from transformers import AutoModel, AutoTokenizer, PreTrainedModel

from rakuten_kedro.online import OFFLINE_VARIABLE, PROBE_TIMEOUT_S, answers, run_is_offline

logger = logging.getLogger(__name__)


class PretrainedModelNotFound(RuntimeError):
    """The pretrained weights are neither a local folder nor reachable on the hub."""


def hub_is_reachable(timeout: float = PROBE_TIMEOUT_S) -> bool:
    """Whether the Hugging Face Hub answers within ``timeout`` seconds.

    Args:
        timeout: Seconds to wait.

    Returns:
        ``False`` when offline mode is set or the hub does not answer in time.
    """
    if run_is_offline() or hub_constants.HF_HUB_OFFLINE:
        return False
    return answers(hub_constants.ENDPOINT, timeout)


def go_offline() -> None:
    """Switches the hub client to offline mode for this process (no download, no retries)."""
    os.environ[OFFLINE_VARIABLE] = "1"
    hub_constants.HF_HUB_OFFLINE = True


def missing_weights_message(name_or_path: str, parameter: str, reason: str) -> str:
    """The message that tells a user how to provide pretrained weights.

    Args:
        name_or_path: The hub id or folder that could not be loaded.
        parameter: Dotted parameter name that holds it, for the ``--params`` hint.
        reason: What went wrong.

    Returns:
        A multi-line, actionable message.
    """
    repo = name_or_path if not Path(name_or_path).is_absolute() else "camembert-base"
    folder = f"/models/{repo.split('/')[-1]}"
    return (
        f"Cannot load the pretrained text model {name_or_path!r}: {reason}.\n"
        "Provide the weights as a local folder:\n"
        f"  1. on a machine with internet access: hf download {repo} --local-dir {folder}\n"
        f"     (older huggingface_hub: huggingface-cli download {repo} --local-dir {folder})\n"
        "  2. copy that folder to this machine;\n"
        f"  3. point the parameter at it: kedro run --env rakuten "
        f'--params "{parameter}={folder}"\n'
        f"     or set {parameter} in conf/rakuten/parameters_text_model.yml "
        "(conf/local/ is read only by runs without --env).\n"
        f"A model already in the hub cache ({hub_constants.HF_HUB_CACHE}) is used offline too."
    )


def locate_pretrained(name_or_path: str, parameter: str = "model_name_or_path") -> str:
    """Checks that a pretrained model can be loaded, without loading it.

    A local folder must hold ``config.json``. A hub id must be in the local cache when the hub
    is unreachable (offline mode is then switched on); otherwise it will be downloaded.

    Args:
        name_or_path: Hub id (``camembert-base``) or local folder.
        parameter: Parameter name shown in the error message.

    Returns:
        ``name_or_path``, unchanged.

    Raises:
        PretrainedModelNotFound: With instructions, within seconds.
    """
    path = Path(name_or_path).expanduser()
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise PretrainedModelNotFound(
                missing_weights_message(name_or_path, parameter, f"{path} has no config.json")
            )
        return name_or_path
    if path.is_absolute() or name_or_path.startswith((".", "~")):
        raise PretrainedModelNotFound(
            missing_weights_message(name_or_path, parameter, f"folder {path} does not exist")
        )
    if hub_is_reachable():
        return name_or_path
    go_offline()
    cached = huggingface_hub.try_to_load_from_cache(name_or_path, "config.json")
    if not isinstance(cached, str):
        raise PretrainedModelNotFound(
            missing_weights_message(
                name_or_path,
                parameter,
                "the Hugging Face Hub is unreachable (no network or HF_HUB_OFFLINE=1) and there "
                "is no local copy",
            )
        )
    logger.info("hub unreachable: using the cached copy of %s", name_or_path)
    return name_or_path


def load_pretrained(
    name_or_path: str, max_length: int, parameter: str = "model_name_or_path"
) -> tuple[PreTrainedModel, object]:
    """Loads a pretrained encoder (float32 weights, pooler included) and its tokenizer.

    Args:
        name_or_path: Hub id or local folder.
        max_length: Longest token sequence; checked against the model's position embeddings.
        parameter: Parameter name shown in error messages.

    Returns:
        ``(encoder, tokenizer)``.

    Raises:
        PretrainedModelNotFound: When the weights cannot be found, within seconds.
    """
    locate_pretrained(name_or_path, parameter)
    offline = run_is_offline()
    try:
        tokenizer = AutoTokenizer.from_pretrained(name_or_path, local_files_only=offline)
        # float32 master weights: mixed precision is the training loop's job.
        encoder = AutoModel.from_pretrained(
            name_or_path, local_files_only=offline, dtype=torch.float32
        )
    except OSError as error:
        raise PretrainedModelNotFound(
            missing_weights_message(name_or_path, parameter, str(error).splitlines()[0])
        ) from error
    # RoBERTa-style position ids start after the padding index.
    limit = (
        encoder.config.max_position_embeddings
        - (getattr(encoder.config, "pad_token_id", 0) or 0)
        - 1
    )
    if max_length > limit:
        raise ValueError(
            f"max_length {max_length} exceeds what {name_or_path} supports ({limit} tokens)"
        )
    tokenizer.model_max_length = max_length
    return encoder, tokenizer
