"""Decode one image file safely: only JPEG, PNG, BMP, WebP and GIF, measured before it is
decoded, shrunk while decoding when it is large, resized to a square, as in training."""

from __future__ import annotations

import io
import math

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

PIL_FORMATS = ("JPEG", "PNG", "BMP", "WEBP", "GIF")  # the only decoders PIL may pick
GRAY_MODES = ("1", "L", "LA", "I", "I;16", "F")
MAX_PIXELS = 40_000_000  # larger images are downscaled while decoding
# PNG, BMP, WebP and GIF decode at full size before they can be shrunk, and PIL keeps 4 bytes a
# pixel: 50 megapixels (the largest camera photos) is 200 MB. A 13000 x 13000 PNG of 493 kB
# took 1.3 GiB. PIL's own check (Image.MAX_IMAGE_PIXELS) only refuses from 179 megapixels.
MAX_DECODE_PIXELS = 50_000_000
# what PIL raises for files that are not (whole, safe) images
DECODE_ERRORS = (
    Image.DecompressionBombError,
    UnidentifiedImageError,
    OSError,
    SyntaxError,
    ValueError,
)


def decode_rgb(
    data: bytes, size: int, max_pixels: int, max_decode_pixels: int
) -> tuple[Image.Image, bool]:
    """An image file's bytes as an RGB image of size x size, and whether it was grayscale.

    Raises:
        one of DECODE_ERRORS: the bytes are no readable (or safe) image.
    """
    with Image.open(io.BytesIO(data), formats=PIL_FORMATS) as image:  # reads the header only
        factor = math.ceil(math.sqrt(image.width * image.height / max_pixels))
        if factor > 1:  # JPEG decodes straight at a smaller scale (1/2, 1/4, 1/8); others don't
            scale = 2 ** math.ceil(math.log2(factor))
            image.draft(image.mode, (image.width // scale, image.height // scale))
        _check_decode_pixels(image, max_decode_pixels)
        image = ImageOps.exif_transpose(image)  # also loads the (first) frame
    factor = math.ceil(math.sqrt(image.width * image.height / max_pixels))
    if factor > 1:
        image = image.reduce(factor)
    gray = _is_gray(image)
    rgb = image.convert("RGB").resize((size, size), Image.Resampling.BICUBIC)
    return rgb, gray


def _check_decode_pixels(image: Image.Image, max_decode_pixels: int) -> None:
    """Refuse an image that would decode to more pixels than the limit, before it is decoded."""
    if image.width * image.height > max_decode_pixels:
        raise Image.DecompressionBombError(
            f"{image.width} x {image.height} pixels, more than the limit of {max_decode_pixels:,}"
        )


def _is_gray(image: Image.Image) -> bool:
    if image.mode in GRAY_MODES:
        return True
    if image.mode in ("P", "PA"):
        rgb = np.asarray(image.convert("RGB"))
        return bool((rgb[..., 0] == rgb[..., 1]).all() and (rgb[..., 1] == rgb[..., 2]).all())
    return False


def to_array(rgb: Image.Image, channels: int) -> np.ndarray:
    """(size, size, channels) uint8: grayscale when ``channels`` is 1."""
    if channels == 1:
        return np.asarray(rgb.convert("L"))[..., np.newaxis]
    return np.asarray(rgb)


def decode_image(
    data: bytes,
    *,
    size: int,
    channels: int,
    max_pixels: int = MAX_PIXELS,
    max_decode_pixels: int = MAX_DECODE_PIXELS,
) -> np.ndarray:
    """One image file's bytes as a (size, size, channels) uint8 array, decoded as in training.

    Raises:
        ValueError: the bytes are no readable JPEG, PNG, BMP, WebP or GIF image (the message
            says why).
    """
    try:
        rgb, _ = decode_rgb(data, size, max_pixels, max_decode_pixels)
    except DECODE_ERRORS as exc:
        raise ValueError(decode_problem(exc)) from None
    return to_array(rgb, channels)


def decode_problem(exc: Exception) -> str:
    """Why an image could not be decoded, in words (PIL's own text names a BytesIO object)."""
    if isinstance(exc, Image.DecompressionBombError):
        return f"image too large to decode safely ({exc})"
    if isinstance(exc, UnidentifiedImageError):
        return "not a readable image: corrupt, or not a JPEG, PNG, BMP, WebP or GIF file"
    return f"corrupt or truncated image ({exc})"
