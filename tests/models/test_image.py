"""ResNet classifier: head shapes, DCL loss falls on a tiny set, ImageNet weights downloaded
when online (the download faked: tests never use the network), offline ones fail fast."""

import pytest
import torch
import torchvision

from rakuten_kedro import online
from rakuten_kedro.config import DCL, Augment, ResNetModel
from rakuten_kedro.models.image import (
    ResNetClassifier,
    build_image_classifier,
    build_resnet,
    locate_weights,
)
from rakuten_kedro.vision.train import ImageInputs, dcl_loss_fn, sgd_with_step_decay
from tests.params import params

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_heads_shapes():
    model = ResNetClassifier(18, num_classes=5, dcl_grid=7).eval()
    images = torch.rand(2, 3, 64, 64)
    logits = model(images)
    assert logits.shape == (2, 5)
    logits2, feats = model(images, mode="features")
    assert feats.shape == (2, 512) and torch.allclose(logits, logits2)
    out = model(images, mode="dcl")
    assert out["logits"].shape == (2, 5)
    assert out["adversarial"].shape == (2, 2)
    assert out["alignment"].shape == (2, 49)
    assert out["alignment"].abs().max() < 1  # tanh
    with pytest.raises(ValueError, match="unknown mode"):
        model(images, mode="nope")


def test_plain_model_has_no_dcl_heads_until_added():
    model = ResNetClassifier(18, num_classes=3).eval()
    with pytest.raises(RuntimeError, match="no DCL heads"):
        model(torch.rand(1, 3, 32, 32), mode="dcl")
    assert model.dcl_head_parameters() == []
    model.add_dcl_heads(4)
    assert model.build_config["kwargs"] == {"depth": 18, "num_classes": 3, "dcl_grid": 4}
    assert len(model.dcl_head_parameters()) == 4


def test_dcl_loss_falls_and_heads_get_ten_times_the_lr():
    torch.manual_seed(0)
    model = build_image_classifier(ResNetModel(depth=18), num_classes=3)
    model.add_dcl_heads(4)
    # Three visually distinct classes: dark, mid and bright images.
    labels = torch.tensor([0, 1, 2, 0, 1, 2, 0, 1])
    images = (labels.float()[:, None, None, None] * 100 + torch.rand(8, 32, 32, 3) * 40).to(
        torch.uint8
    )
    batch = {"images": images, "labels": labels}
    optimizer, _ = sgd_with_step_decay(
        model, lr=0.001, momentum=0.9, weight_decay=0.0, steps_per_epoch=1, lr_step_epochs=12,
        lr_gamma=0.1, head_lr_multiplier=10,
    )  # fmt: skip
    assert [g["lr"] for g in optimizer.param_groups] == [0.001, pytest.approx(0.01)]
    augment = Augment(crop_fraction=0.875, rotation_degrees=15, hflip=True)
    dcl = DCL.parse(params("image_dcl_clean.stage2.dcl", grid=4, window=1))
    loss_fn = dcl_loss_fn(ImageInputs(augment, 32), dcl)
    losses = []
    for _ in range(15):
        loss = loss_fn(model, batch)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    # Start: CE(3 classes) + CE(2) + L1 ~ 1.1 + 0.7 + 0.4; the class term then nearly vanishes.
    assert 1.8 < sum(losses[:3]) / 3 < 3.0
    assert sum(losses[-3:]) / 3 < 0.8 * sum(losses[:3]) / 3


def test_missing_imagenet_weights_fail_fast_with_instructions(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    with pytest.raises(FileNotFoundError, match=r"resnet152-f82ba261\.pth.*hub/checkpoints"):
        build_resnet(152, weights="IMAGENET1K_V2")
    with pytest.raises(ValueError, match="unknown torchvision weights"):
        build_resnet(18, weights="IMAGENET9K")
    with pytest.raises(FileNotFoundError, match="weights_path"):
        build_resnet(18, weights_path=str(tmp_path / "missing.pth"))


def test_offline_imagenet_weights_name_the_parameter_and_why(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    with pytest.raises(FileNotFoundError) as offline:
        locate_weights(50, "IMAGENET1K_V2", parameter="denoising.model")
    message = str(offline.value)
    assert "ResNet50 (denoising.model.weights: IMAGENET1K_V2)" in message
    assert "this run is offline (HF_HUB_OFFLINE=1)" in message
    assert "download https://download.pytorch.org/models/resnet50-11ad3fa6.pth" in message
    assert '--params "denoising.model.weights_path=/models/resnet50-11ad3fa6.pth"' in message
    assert "conf/local/ is read only without --env" in message  # not under --env rakuten
    assert "denoising.model.weights: null" in message
    monkeypatch.delenv("HF_HUB_OFFLINE")
    monkeypatch.setattr(online, "answers", lambda url, timeout=0: False)  # no network
    with pytest.raises(FileNotFoundError, match=r"download\.pytorch\.org does not answer"):
        locate_weights(50, "IMAGENET1K_V2", parameter="denoising.model")


def test_imagenet_weights_are_downloaded_through_torchvision_when_online(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    monkeypatch.delenv("HF_HUB_OFFLINE")
    monkeypatch.setattr(online, "answers", lambda url, timeout=0: True)
    published = build_resnet(18)  # stands in for torchvision's file
    downloads = []

    def download(url, destination, hash_prefix=None, progress=True):
        downloads.append((url, hash_prefix))
        torch.save(published.state_dict(), destination)

    monkeypatch.setattr(torch.hub, "download_url_to_file", download)
    model = build_resnet(18, weights="IMAGENET1K_V1")
    url = torchvision.models.ResNet18_Weights.IMAGENET1K_V1.url
    assert downloads == [(url, "f37072fd")]  # its hash checked
    assert torch.equal(model.conv1.weight, published.conv1.weight)
    assert (tmp_path / "hub" / "checkpoints" / "resnet18-f37072fd.pth").is_file()
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    again = build_resnet(18, weights="IMAGENET1K_V1")  # offline now: read from the cache
    assert len(downloads) == 1 and torch.equal(again.conv1.weight, published.conv1.weight)


def test_local_weights_path_is_loaded(tmp_path):
    reference = build_resnet(18)
    torch.save(reference.state_dict(), tmp_path / "r18.pth")
    model = ResNetClassifier(18, num_classes=2, weights_path=str(tmp_path / "r18.pth"))
    assert torch.equal(model.trunk[0].weight, reference.conv1.weight)
    assert model.build_config["kwargs"].get("weights_path") is None  # rebuilds never reload it
