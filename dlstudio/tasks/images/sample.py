"""A generated ZIP of small colour images in three class folders (circle, square, triangle), for
"try a sample" and for tests: it needs no download and learns in seconds. The sample on Home
has a few mislabelled pictures, so that its Mistakes section has something to show."""

from __future__ import annotations

import io
import zipfile

import numpy as np
from PIL import Image, ImageDraw

SHAPES = ("circle", "square", "triangle")


def shapes_zip(
    *, per_class: int = 40, size: int = 32, seed: int = 0, mislabelled: int = 0
) -> bytes:
    """``shapes/<class>/<n>.png``: one shape per image, random colour, size and place, on a
    noisy background; ``mislabelled`` images of each class folder show another shape, as
    mistakes in a real labelling would (the same images with or without them otherwise)."""
    rng = np.random.default_rng(seed)
    labelling = np.random.default_rng(seed + 1)
    wrong = {
        (shape, int(n)): SHAPES[(SHAPES.index(shape) + int(labelling.integers(1, 3))) % 3]
        for shape in SHAPES
        for n in labelling.choice(per_class, size=min(mislabelled, per_class), replace=False)
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for shape in SHAPES:
            for n in range(per_class):
                png = io.BytesIO()
                _draw(wrong.get((shape, n), shape), size, rng).save(png, format="PNG")
                # a fixed timestamp: the same sample is the same bytes, hence one dataset version
                entry = zipfile.ZipInfo(
                    f"shapes/{shape}/{n:03d}.png", date_time=(1980, 1, 1, 0, 0, 0)
                )
                archive.writestr(entry, png.getvalue(), compress_type=zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


def _draw(shape: str, size: int, rng: np.random.Generator) -> Image.Image:
    noise = rng.integers(0, 60, (size, size, 3), dtype=np.uint8)
    image = Image.fromarray(noise + rng.integers(0, 100, 3, dtype=np.uint8))
    side = rng.uniform(0.45, 0.8) * size
    x0, y0 = rng.uniform(0, size - side, 2)
    box = (x0, y0, x0 + side, y0 + side)
    colour = tuple(int(c) for c in rng.integers(140, 256, 3))
    draw = ImageDraw.Draw(image)
    if shape == "circle":
        draw.ellipse(box, fill=colour)
    elif shape == "square":
        draw.rectangle(box, fill=colour)
    else:
        draw.polygon([(x0, y0 + side), (x0 + side, y0 + side), (x0 + side / 2, y0)], fill=colour)
    return image
