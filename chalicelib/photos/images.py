"""Thumbnails from untrusted image bytes: header checks, one decode, orientation, clean JPEGs."""

from __future__ import annotations

import io
import struct
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PIL import Image

SIZES = {"small": 128, "medium": 512, "large": 1024}
MAX_PIXELS = 50_000_000

# MPO is how Pillow names the multi-picture JPEGs many phones write; for a browser it is a JPEG.
_ACCEPTED = {"image/jpeg": ("JPEG", "MPO"), "image/png": ("PNG",), "image/webp": ("WEBP",)}
_FORMAT_NAMES = {"JPEG": "JPEG", "MPO": "JPEG", "PNG": "PNG", "WEBP": "WebP"}
# Only these plugins ever see the bytes: the others (EPS runs Ghostscript) are attack surface.
_OPENABLE = ("JPEG", "PNG", "WEBP")
_ORIENTATION = 0x0112
_SWAPS_AXES = (5, 6, 7, 8)
_JPEG_QUALITY = 85
# Pillow signals malformed input with any of these, not only OSError (Image.open itself catches
# the last four while probing plugins).
_MALFORMED = (OSError, SyntaxError, ValueError, EOFError, IndexError, TypeError, struct.error)


class ImageRejected(Exception):
    """The file can never be thumbnailed; str() is the reason shown to its owner."""


@dataclass(frozen=True)
class Thumbnails:
    width: int
    height: int
    images: dict[str, bytes]


def make_thumbnails(data: bytes, declared_type: str) -> Thumbnails:
    accepted = _ACCEPTED.get(declared_type)
    if accepted is None:
        raise ImageRejected(
            f"unsupported content type {declared_type!r}: expected one of {', '.join(_ACCEPTED)}"
        )
    from PIL import Image, UnidentifiedImageError  # noqa: PLC0415 - keeps Pillow out of cold start

    try:
        # Pillow only warns between its own limit and twice that; a warning must stop us too.
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            return _make(data, declared_type, accepted)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        raise ImageRejected(f"image is over the {MAX_PIXELS // 1_000_000} megapixel limit") from e
    except UnidentifiedImageError as e:
        raise ImageRejected("not a JPEG, PNG or WebP image") from e
    except _MALFORMED as e:
        raise ImageRejected(f"corrupt or truncated image: {e}") from e


def _make(data: bytes, declared_type: str, accepted: tuple[str, ...]) -> Thumbnails:
    large, width, height, icc = _decode_large(data, declared_type, accepted)
    large = _to_rgb(large, icc)
    medium = _resize(large, _fit(width, height, SIZES["medium"]))
    small = _resize(medium, _fit(width, height, SIZES["small"]))
    images = {"small": _jpeg(small), "medium": _jpeg(medium), "large": _jpeg(large)}
    return Thumbnails(width=width, height=height, images=images)


def _decode_large(
    data: bytes, declared_type: str, accepted: tuple[str, ...]
) -> tuple[Image.Image, int, int, bytes | None]:
    """Return the large image (its mode not yet settled), the displayed size and any ICC."""
    from PIL import Image, ImageOps  # noqa: PLC0415 - keeps Pillow out of cold start

    img = Image.open(io.BytesIO(data), formats=_OPENABLE)
    if img.format not in accepted:
        found = _FORMAT_NAMES.get(img.format or "", img.format)
        raise ImageRejected(f"declared {declared_type} but the file is a {found} image")
    width, height = img.size
    if width * height > MAX_PIXELS:
        raise ImageRejected(
            f"image is {width}x{height} ({width * height / 1_000_000:.1f} megapixels), "
            f"over the {MAX_PIXELS // 1_000_000} megapixel limit"
        )
    # Read before decoding: draft shrinks img.size, and the photo's size is the original's.
    swapped = img.getexif().get(_ORIENTATION, 1) in _SWAPS_AXES
    if swapped:
        width, height = height, width
    target = _fit(width, height, SIZES["large"])
    if img.format in ("JPEG", "MPO"):
        # libjpeg then decodes at 1/2, 1/4 or 1/8 scale: less memory and time than full size.
        img.draft("RGB", (target[1], target[0]) if swapped else target)
    ImageOps.exif_transpose(img, in_place=True)
    icc = img.info.get("icc_profile")
    large = _resize(_resamplable(img), target)
    return large, width, height, icc if isinstance(icc, bytes) and icc else None


def _resamplable(img: Image.Image) -> Image.Image:
    """Return img in a mode that resize filters properly (P and 1 would be resized nearest)."""
    if "transparency" in img.info or img.mode == "PA":
        return img.convert("RGBA")
    if img.mode in ("RGB", "RGBA", "L", "LA", "CMYK"):
        return img
    if img.mode.startswith("I"):
        # 16-bit greys: a plain convert("L") clips everything above 255 to white.
        return img.convert("I").point(lambda v: v / 256).convert("L")
    if img.mode == "1":
        return img.convert("L")
    return img.convert("RGB")


def _to_rgb(img: Image.Image, icc: bytes | None) -> Image.Image:
    """Flatten alpha onto white, map an embedded profile to sRGB, drop every piece of metadata."""
    from PIL import Image  # noqa: PLC0415 - keeps Pillow out of cold start

    if img.mode in ("RGBA", "LA"):
        # Flattening after the resize gives the same pixels (resize premultiplies alpha), cheaper.
        base = Image.new("L" if img.mode == "LA" else "RGB", img.size, "white")
        base.paste(img, mask=img.getchannel("A"))
        img = base
    if icc is not None:
        img = _to_srgb(img, icc)
    if img.mode != "RGB":
        img = img.convert("RGB")
    # Resizes copy info, and the JPEG encoder reads a comment from it: start every output clean.
    img.info = {}
    return img


def _to_srgb(img: Image.Image, icc: bytes) -> Image.Image:
    from PIL import ImageCms  # noqa: PLC0415 - keeps Pillow out of cold start

    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        converted = ImageCms.profileToProfile(
            img, source, ImageCms.createProfile("sRGB"), outputMode="RGB"
        )
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
        # A broken or mismatched profile costs some colour accuracy, not the photo.
        return img
    return converted if converted is not None else img


def _fit(width: int, height: int, side: int) -> tuple[int, int]:
    if max(width, height) <= side:
        return width, height
    if width >= height:
        return side, max(1, round(height * side / width))
    return max(1, round(width * side / height)), side


def _resize(img: Image.Image, size: tuple[int, int]) -> Image.Image:
    from PIL import Image  # noqa: PLC0415 - keeps Pillow out of cold start

    if img.size == size:
        return img
    # reducing_gap box-reduces big ratios first: much faster, and close to LANCZOS alone.
    return img.resize(size, Image.Resampling.LANCZOS, reducing_gap=2.0)


def _jpeg(img: Image.Image) -> bytes:
    out = io.BytesIO()
    # No exif=, icc_profile= or comment=: the outputs carry pixels only (no GPS, no camera data).
    img.save(out, "JPEG", quality=_JPEG_QUALITY)
    return out.getvalue()
