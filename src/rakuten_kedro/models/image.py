"""ResNet image classifier with the optional DCL heads (Destruction and Construction Learning).

``ResNetClassifier`` = a torchvision ResNet trunk (any depth), a class head
``Linear(C, num_classes)`` on the globally pooled features and, for DCL fine-tuning, two more
heads on the same feature map: an adversarial head ``Linear(C, 2)`` (original vs destructed
image) and a region-alignment head ``Conv2d(C, 1, 1)`` → adaptive average pooling to the
``N × N`` grid → tanh (each cell's original position). ``forward`` uses the class head only,
so a DCL-trained model is used exactly like a plain one.

ImageNet weights are optional. They are read from a local state dict (``weights_path``) or the
torch hub cache, and downloaded into that cache through torchvision's URL when the run may
download (``online.can_download``). Offline without a local copy, the run stops before any
work with instructions (the preflight, ``rakuten_kedro/preflight.py``), not late and obscurely
on a failed download.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import torch
import torchvision
from torch import nn

from rakuten_kedro.config import ResNetModel, parses_params
from rakuten_kedro.online import can_download, run_is_offline

logger = logging.getLogger(__name__)

#: ResNet depths offered by torchvision.
RESNET_DEPTHS = (18, 34, 50, 101, 152)

#: Key of the architecture registry (``models/registry.py``) that rebuilds a saved classifier.
ARCHITECTURE = "resnet_classifier"


def _weights_enum(depth: int, weights: str) -> torchvision.models.WeightsEnum:
    name = f"ResNet{depth}_Weights.{weights}"
    try:
        return torchvision.models.get_weight(name)
    except (KeyError, ValueError, AttributeError) as error:
        raise ValueError(
            f"unknown torchvision weights {name!r}: use e.g. 'IMAGENET1K_V1' or 'IMAGENET1K_V2' "
            "(see torchvision.models.ResNet152_Weights), or null to train from scratch"
        ) from error


def imagenet_weights_file(depth: int, weights: str) -> Path:
    """Where torchvision caches the given ResNet weights (``$TORCH_HOME/hub/checkpoints``)."""
    url = _weights_enum(depth, weights).url
    return Path(torch.hub.get_dir()) / "checkpoints" / url.rsplit("/", 1)[-1]


def locate_weights(
    depth: int,
    weights: str | None = None,
    weights_path: str | None = None,
    *,
    parameter: str = "model",
) -> Path | None:
    """The local file pretrained ResNet weights will be read from, checked before any work.

    Args:
        depth: 18, 34, 50, 101 or 152.
        weights: torchvision weights name (``"IMAGENET1K_V2"``), read from the torch hub cache
            (``$TORCH_HOME/hub/checkpoints``), downloaded there first when the run may
            download; or None.
        weights_path: A local ``.pth`` state dict of the same ResNet (wins over ``weights``).
        parameter: Dotted name of the model's parameter block (``image_dcl_clean.model``),
            for the message.

    Returns:
        The weights file (ImageNet weights not downloaded yet: where the download puts them),
        or None for a from-scratch model.

    Raises:
        ValueError: For an unknown depth or weights name.
        FileNotFoundError: When the weights are neither on this machine nor downloadable,
            saying how to provide them.
    """
    if depth not in RESNET_DEPTHS:
        raise ValueError(f"ResNet depth must be one of {RESNET_DEPTHS}, got {depth}")
    if weights_path:
        path = Path(weights_path).expanduser()
        if not path.is_file():
            raise FileNotFoundError(
                f"{parameter}.weights_path {str(path)!r} does not exist: give a local ImageNet "
                f"state-dict file of the ResNet{depth}, or null to use {parameter}.weights."
            )
        return path
    if not weights:
        return None
    url = _weights_enum(depth, weights).url
    cached = imagenet_weights_file(depth, weights)
    if cached.is_file() or can_download(url):
        return cached
    reason = (
        "this run is offline (HF_HUB_OFFLINE=1)"
        if run_is_offline()
        else f"{url.split('/')[2]} does not answer"
    )
    raise FileNotFoundError(
        f"ImageNet weights for ResNet{depth} ({parameter}.weights: {weights}) are not on this "
        f"machine, and {reason}. Either:\n"
        f"  1. download {url} on a machine with internet access and copy it into "
        f"{cached.parent}/ (the torch hub cache, under $TORCH_HOME);\n"
        f"  2. or give that file, a state dict of the same ResNet: "
        f'--params "{parameter}.weights_path=/models/{cached.name}" (or in the parameters of '
        f"the run's environment, conf/<env>/; conf/local/ is read only without --env);\n"
        f"  3. or train from scratch: {parameter}.weights: null."
    )


def _download_imagenet_weights(depth: int, weights: str, path: Path) -> dict[str, torch.Tensor]:
    """torchvision's weights file, downloaded into the torch hub cache (its hash checked)."""
    url = _weights_enum(depth, weights).url
    logger.info("Downloading the ResNet%d ImageNet weights %s into %s", depth, url, path.parent)
    return torch.hub.load_state_dict_from_url(
        url,
        model_dir=str(path.parent),
        map_location="cpu",
        progress=False,
        check_hash=True,
        weights_only=True,
    )


def build_resnet(
    depth: int,
    num_classes: int = 1000,
    *,
    weights: str | None = None,
    weights_path: str | None = None,
) -> torchvision.models.ResNet:
    """A torchvision ResNet, from scratch or with ImageNet weights.

    Args:
        depth: 18, 34, 50, 101 or 152.
        num_classes: Size of torchvision's own ``fc`` (replaced by the caller).
        weights: torchvision weights name (``"IMAGENET1K_V2"``), from the torch hub cache,
            downloaded there first when missing and the run may download; or None.
        weights_path: A local ``.pth`` state dict of the same architecture (wins over
            ``weights``), or None.

    Returns:
        The ResNet.

    Raises:
        FileNotFoundError: When pretrained weights are asked for but neither local nor
            downloadable, with the exact file to provide (see :func:`locate_weights`).
    """
    path = locate_weights(depth, weights, weights_path)
    constructor = getattr(torchvision.models, f"resnet{depth}")
    if path is None:
        return constructor(weights=None, num_classes=num_classes)
    model = constructor(weights=None)
    model.load_state_dict(
        torch.load(path, map_location="cpu", weights_only=True)
        if path.is_file()
        else _download_imagenet_weights(depth, weights, path)
    )
    return model


class ResNetClassifier(nn.Module):
    """ResNet trunk + class head, with optional DCL adversarial and alignment heads.

    Args:
        depth: ResNet depth (18/34/50/101/152).
        num_classes: Number of product type codes.
        weights: torchvision ImageNet weights name, or None for a from-scratch trunk.
        weights_path: Local ImageNet state dict (wins over ``weights``).
        dcl_grid: Grid side ``N`` of the DCL heads, or None for a plain classifier.
    """

    def __init__(
        self,
        depth: int,
        num_classes: int,
        *,
        weights: str | None = None,
        weights_path: str | None = None,
        dcl_grid: int | None = None,
    ) -> None:
        super().__init__()
        resnet = build_resnet(depth, weights=weights, weights_path=weights_path)
        self.depth = depth
        self.num_classes = num_classes
        self.feature_dim = resnet.fc.in_features
        self.trunk = nn.Sequential(
            resnet.conv1,
            resnet.bn1,
            resnet.relu,
            resnet.maxpool,
            resnet.layer1,
            resnet.layer2,
            resnet.layer3,
            resnet.layer4,
        )
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(self.feature_dim, num_classes)
        self.dcl_grid: int | None = None
        if dcl_grid:
            self.add_dcl_heads(dcl_grid)

    def add_dcl_heads(self, grid: int = 7) -> None:
        """Attach freshly initialised DCL heads (stage 2 reloads stage 1, then calls this)."""
        self.dcl_grid = int(grid)
        self.adversarial = nn.Linear(self.feature_dim, 2)
        self.alignment = nn.Conv2d(self.feature_dim, 1, kernel_size=1)
        device = self.classifier.weight.device
        self.adversarial.to(device)
        self.alignment.to(device)

    def dcl_head_parameters(self) -> list[nn.Parameter]:
        """The DCL heads' parameters (they train with a larger learning rate)."""
        if self.dcl_grid is None:
            return []
        return [*self.adversarial.parameters(), *self.alignment.parameters()]

    def forward(self, images: torch.Tensor, mode: str = "logits") -> Any:
        """Run the network; inference never uses the DCL heads.

        The modes go through ``forward`` (rather than separate methods) so that wrappers
        such as DDP and accelerate's autocast see every call.

        Args:
            images: (B, 3, H, W) normalised images.
            mode: ``"logits"``: class logits (B, num_classes); ``"features"``: ``(logits,
                pooled features (B, C))``; ``"dcl"``: ``{"logits", "adversarial" (B, 2),
                "alignment" (B, N*N) in (-1, 1)}``.

        Returns:
            As described for ``mode``.
        """
        fmap = self.trunk(images)
        pooled = self.pool(fmap).flatten(1)
        logits = self.classifier(pooled)
        if mode == "logits":
            return logits
        if mode == "features":
            return logits, pooled
        if mode != "dcl":
            raise ValueError(f"unknown mode {mode!r}: use 'logits', 'features' or 'dcl'")
        if self.dcl_grid is None:
            raise RuntimeError("this classifier has no DCL heads: call add_dcl_heads() first")
        mask = self.alignment(fmap)
        # The feature map may be smaller than the grid at low resolution: adaptive pooling
        # then repeats values, which keeps the head's shape the same at every input size.
        mask = torch.tanh(nn.functional.adaptive_avg_pool2d(mask, self.dcl_grid)).flatten(1)
        return {"logits": logits, "adversarial": self.adversarial(pooled), "alignment": mask}

    @property
    def build_config(self) -> dict[str, Any]:
        """How ``TorchModelDataset`` rebuilds this module (never re-reading ImageNet weights)."""
        return {
            "architecture": ARCHITECTURE,
            "kwargs": {
                "depth": self.depth,
                "num_classes": self.num_classes,
                "dcl_grid": self.dcl_grid,
            },
        }


@parses_params
def build_image_classifier(model: ResNetModel, num_classes: int) -> ResNetClassifier:
    """The untrained classifier a ``model`` parameters block describes (initial weights
    included: ImageNet's when it names them)."""
    return ResNetClassifier(
        model.depth, num_classes, weights=model.weights, weights_path=model.weights_path
    )


def rebuild_image_classifier(
    depth: int, num_classes: int, dcl_grid: int | None = None
) -> ResNetClassifier:
    """The untrained classifier of a saved model: no pretrained weights are read, the saved
    ones replace them (see ``models/registry.py``)."""
    return ResNetClassifier(depth, num_classes, dcl_grid=dcl_grid)
