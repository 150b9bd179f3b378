"""ONNX plan of the image template: the whole network in the graph, from uint8 pixels
(rows, side, side, channels) to class probabilities. Scaling to [0, 1] and the per-channel
standardization are part of the network, so they are in the graph; decoding the file and
resizing it to the side stay outside (ONNX does not decode JPEG or PNG), shown in the how-to.
"""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import torch
from PIL import Image
from torch import nn

from dlstudio.data.image_decode import decode_image
from dlstudio.explain.onnx_plan import (
    ExportPlan,
    classification_outputs_text,
    decided_class,
    json_bytes,
    probability_columns,
)
from dlstudio.tasks.images.model import IMAGE_COLUMN, ImagePredictor

SAMPLE_IMAGES = 8


class ImageProbabilities(nn.Module):
    """uint8 images (rows, side, side, channels) -> (probabilities, predicted_class)."""

    def __init__(self, network: nn.Module) -> None:
        super().__init__()
        self.network = network.eval()

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, ...]:
        proba = torch.softmax(self.network(images).float(), dim=1)
        return proba, decided_class(proba, None, 0.5)


def image_plan(predictor: ImagePredictor) -> ExportPlan:
    """The network with its standardization; checked on seeded noise images sent through the
    registered model as PNG files, as a user would send photos."""
    files = sample_files(predictor.size, predictor.channels)
    pixels = np.stack([decode_image(f, size=predictor.size, channels=predictor.channels)
                       for f in files])  # fmt: skip
    classes = list(predictor.classes)
    expected = probability_columns(predictor.predict(pd.DataFrame({IMAGE_COLUMN: files})), classes)
    kind = f"{type(predictor.model.backbone).__name__} (image classification)"
    shape = {"side": predictor.size, "channels": predictor.channels}
    return ExportPlan(
        kind=kind,
        graph=ImageProbabilities(predictor.model),
        inputs={"images": pixels},
        dynamic_axes={"images": {0: "rows"}},
        outputs=["probabilities", "predicted_class"],
        compared="probabilities",
        expected=expected,
        metadata={"classes": classes, **shape},
        beside={"preprocessing.json": json_bytes({"classes": classes, **shape})},
        howto=howto(kind, predictor.size, predictor.channels,
                    classification_outputs_text(classes, None, 0.5)),
    )  # fmt: skip


def sample_files(side: int, channels: int, *, seed: int = 0) -> list[bytes]:
    """Seeded noise images as PNG files, some larger than ``side`` (so resizing is checked)."""
    rng = np.random.default_rng(seed)
    files = []
    for i in range(SAMPLE_IMAGES):
        size = side if i % 2 == 0 else side + 8 * (i + 1)
        pixels = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
        image = Image.fromarray(pixels).convert("L" if channels == 1 else "RGB")
        buffer = io.BytesIO()
        image.save(buffer, "PNG")
        files.append(buffer.getvalue())
    return files


def howto(kind: str, side: int, channels: int, outputs: str) -> str:
    """README.md of an image export: from an image file to the graph's outputs."""
    mode = "L" if channels == 1 else "RGB"
    shape = "pixels[..., None]" if channels == 1 else "pixels"
    return f"""# {kind}, exported to ONNX

`$model` holds the whole network, its pixel scaling and standardization included.
Input: `images` (uint8, rows x {side} x {side} x {channels}: height, width, channels).
{outputs}
`$preprocessing` repeats the side, the channels and the class names.

## Run it (Python; `pip install onnxruntime pillow numpy`)

```python
import numpy as np
import onnxruntime as ort
from PIL import Image, ImageOps

def pixels_of(path):
    with Image.open(path) as image:
        image = ImageOps.exif_transpose(image)
        image = image.convert("RGB").resize(({side}, {side}), Image.Resampling.BICUBIC)
        pixels = np.asarray(image.convert("{mode}"))
    return {shape}

session = ort.InferenceSession("$model")
images = np.stack([pixels_of(p) for p in ["photo1.jpg", "photo2.png"]])
probabilities, predicted_class = session.run(None, {{"images": images}})
```

This is how dlstudio decodes an image for its model: turned upright by its EXIF tag, converted
to RGB, resized to {side} x {side} with bicubic resampling{", then to grayscale" if channels == 1 else ""}.
"""
