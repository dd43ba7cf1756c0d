"""Thumbnail image processing: sizes, orientation, metadata stripping, flattening, rejections."""

from __future__ import annotations

import io
import random
import struct
import subprocess
import sys
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image, ImageCms, ImageDraw, ImageFile

from chalicelib.photos.images import MAX_PIXELS, SIZES, ImageRejected, Thumbnails, make_thumbnails

ROOT = Path(__file__).resolve().parent.parent
ORIENTATION = 0x0112
GPS_IFD = 0x8825
TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp", "MPO": "image/jpeg"}


class _DecodeAttempted(BaseException):
    """Raised by the patched decoder; a BaseException so no handler under test can swallow it."""


def _encode(img: Image.Image, fmt: str, **params: object) -> bytes:
    out = io.BytesIO()
    img.save(out, fmt, **params)
    return out.getvalue()


def _open(data: bytes) -> Image.Image:
    img = Image.open(io.BytesIO(data))
    img.load()
    return img


def _sizes(result: Thumbnails) -> dict[str, tuple[int, int]]:
    return {name: _open(data).size for name, data in result.images.items()}


def _scene(size: tuple[int, int]) -> Image.Image:
    """A photo-like picture with edges, cheap to build at any size."""
    img = Image.new("RGB", size, (40, 90, 160))
    draw = ImageDraw.Draw(img)
    width, height = size
    draw.rectangle((width // 8, height // 8, width // 2, height // 2), fill=(230, 200, 30))
    draw.ellipse((width // 2, height // 3, width - width // 10, height - 1), fill=(200, 30, 60))
    return img


def _exif_with_gps(orientation: int) -> Image.Exif:
    exif = Image.Exif()
    exif[ORIENTATION] = orientation
    exif[0x010F] = "TestCam"
    exif[GPS_IFD] = {1: "N", 2: (52.0, 31.0, 12.0), 3: "E", 4: (13.0, 24.0, 36.0)}
    return exif


def _bomb_png(width: int, height: int) -> bytes:
    """A real 1-bit PNG of zeros: a few kilobytes per 100 megapixels, written chunk by chunk."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body)
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    row = bytes(1 + (width + 7) // 8)  # filter byte "none", then packed bits
    packer = zlib.compressobj(9)
    idat = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    )


@pytest.fixture(scope="module")
def photo_4000x3000() -> bytes:
    return _encode(_scene((4000, 3000)), "JPEG", quality=90)


@pytest.fixture(scope="module")
def thumbs_4000x3000(photo_4000x3000: bytes) -> Thumbnails:
    return make_thumbnails(photo_4000x3000, "image/jpeg")


@pytest.fixture
def decode_calls(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    calls: list[object] = []

    def refuse(self: ImageFile.ImageFile) -> None:
        calls.append(self)
        raise _DecodeAttempted

    monkeypatch.setattr(ImageFile.ImageFile, "load", refuse)
    return calls


@pytest.mark.parametrize(
    ("name", "size"), [("large", (1024, 768)), ("medium", (512, 384)), ("small", (128, 96))]
)
def test_make_thumbnails_fits_each_box(
    thumbs_4000x3000: Thumbnails, name: str, size: tuple[int, int]
) -> None:
    assert _open(thumbs_4000x3000.images[name]).size == size


def test_make_thumbnails_reports_size_of_original(thumbs_4000x3000: Thumbnails) -> None:
    assert (thumbs_4000x3000.width, thumbs_4000x3000.height) == (4000, 3000)


def test_make_thumbnails_returns_exactly_the_three_sizes(thumbs_4000x3000: Thumbnails) -> None:
    assert set(thumbs_4000x3000.images) == set(SIZES)


@pytest.mark.parametrize(
    ("original", "expected"),
    [
        ((100, 80), {"large": (100, 80), "medium": (100, 80), "small": (100, 80)}),
        ((600, 300), {"large": (600, 300), "medium": (512, 256), "small": (128, 64)}),
        ((300, 2000), {"large": (154, 1024), "medium": (77, 512), "small": (19, 128)}),
        ((1024, 1024), {"large": (1024, 1024), "medium": (512, 512), "small": (128, 128)}),
        ((3000, 10), {"large": (1024, 3), "medium": (512, 2), "small": (128, 1)}),
    ],
)
def test_make_thumbnails_keeps_aspect_and_never_upscales(
    original: tuple[int, int], expected: dict[str, tuple[int, int]]
) -> None:
    result = make_thumbnails(_encode(_scene(original), "PNG"), "image/png")

    assert _sizes(result) == expected


def test_make_thumbnails_swaps_size_for_exif_orientation() -> None:
    rotated = _encode(_scene((4000, 3000)), "JPEG", exif=_exif_with_gps(6))

    result = make_thumbnails(rotated, "image/jpeg")

    assert (result.width, result.height) == (3000, 4000)
    assert _sizes(result) == {"large": (768, 1024), "medium": (384, 512), "small": (96, 128)}


@pytest.mark.parametrize(
    ("orientation", "red_at", "blue_at"),
    [
        (1, (0.5, 0.1), (0.5, 0.9)),  # stored top half red: shown as stored
        (3, (0.5, 0.9), (0.5, 0.1)),  # turned 180 degrees
        (6, (0.9, 0.5), (0.1, 0.5)),  # turned 90 degrees clockwise: the top goes right
        (8, (0.1, 0.5), (0.9, 0.5)),  # turned 90 degrees anticlockwise: the top goes left
    ],
)
def test_make_thumbnails_turns_pixels_by_exif_orientation(
    orientation: int, red_at: tuple[float, float], blue_at: tuple[float, float]
) -> None:
    stored = Image.new("RGB", (400, 300), (0, 0, 255))
    stored.paste((255, 0, 0), (0, 0, 400, 150))
    data = _encode(stored, "JPEG", exif=_exif_with_gps(orientation))

    small = _open(make_thumbnails(data, "image/jpeg").images["small"])

    def pixel(at: tuple[float, float]) -> tuple[int, ...]:
        value = small.getpixel((int(at[0] * small.width), int(at[1] * small.height)))
        assert isinstance(value, tuple)
        return value

    assert pixel(red_at) == pytest.approx((255, 0, 0), abs=40)
    assert pixel(blue_at) == pytest.approx((0, 0, 255), abs=40)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
@pytest.mark.parametrize("name", list(SIZES))
def test_make_thumbnails_strips_all_metadata(fmt: str, name: str) -> None:
    params: dict[str, object] = {"exif": _exif_with_gps(6)}
    if fmt == "JPEG":
        params.update(comment=b"taken at home", xmp=b"<x:xmpmeta>TestCam</x:xmpmeta>")
    data = _encode(_scene((1200, 900)), fmt, **params)

    out = make_thumbnails(data, TYPES[fmt]).images[name]

    thumb = _open(out)
    assert len(thumb.getexif()) == 0
    assert not thumb.getexif().get_ifd(GPS_IFD)
    assert not {"exif", "icc_profile", "comment", "xmp"} & set(thumb.info)
    assert b"Exif\x00\x00" not in out
    assert b"TestCam" not in out


@pytest.mark.parametrize(
    ("fmt", "mode"), [("PNG", "RGBA"), ("PNG", "LA"), ("PNG", "P"), ("WEBP", "RGBA")]
)
def test_make_thumbnails_flattens_transparency_onto_white(fmt: str, mode: str) -> None:
    # Left half opaque black, right half fully transparent black: without flattening, all black.
    if mode == "P":
        img = Image.new("P", (200, 100), 0)
        img.putpalette([0, 0, 0, 0, 0, 0])
        img.paste(1, (100, 0, 200, 100))
        data = _encode(img, fmt, transparency=1)
    else:
        img = Image.new(mode, (200, 100), (0,) * len(mode))
        img.paste((0,) * (len(mode) - 1) + (255,), (0, 0, 100, 100))
        data = _encode(img, fmt, lossless=True) if fmt == "WEBP" else _encode(img, fmt)

    for out in make_thumbnails(data, TYPES[fmt]).images.values():
        thumb = _open(out).convert("L")
        middle = thumb.height // 2
        assert thumb.getpixel((thumb.width * 3 // 4, middle)) == pytest.approx(255, abs=4)
        assert thumb.getpixel((thumb.width // 4, middle)) == pytest.approx(0, abs=4)


_INPUTS: dict[str, Callable[[], tuple[bytes, str]]] = {
    "jpeg-rgb": lambda: (_encode(_scene((300, 200)), "JPEG"), "image/jpeg"),
    "jpeg-grey": lambda: (_encode(_scene((300, 200)).convert("L"), "JPEG"), "image/jpeg"),
    "jpeg-cmyk": lambda: (_encode(_scene((300, 200)).convert("CMYK"), "JPEG"), "image/jpeg"),
    "jpeg-progressive": lambda: (
        _encode(_scene((300, 200)), "JPEG", progressive=True),
        "image/jpeg",
    ),
    "mpo": lambda: (
        _encode(_scene((300, 200)), "MPO", save_all=True, append_images=[_scene((300, 200))]),
        "image/jpeg",
    ),
    "png-rgb": lambda: (_encode(_scene((300, 200)), "PNG"), "image/png"),
    "png-grey": lambda: (_encode(_scene((300, 200)).convert("L"), "PNG"), "image/png"),
    "png-1bit": lambda: (_encode(_scene((300, 200)).convert("1"), "PNG"), "image/png"),
    "png-palette": lambda: (_encode(_scene((300, 200)).convert("P"), "PNG"), "image/png"),
    "png-16bit": lambda: (_encode(Image.new("I;16", (300, 200), 30000), "PNG"), "image/png"),
    "webp-lossy": lambda: (_encode(_scene((300, 200)), "WEBP"), "image/webp"),
    "webp-lossless": lambda: (_encode(_scene((300, 200)), "WEBP", lossless=True), "image/webp"),
}


@pytest.mark.parametrize("kind", list(_INPUTS))
def test_make_thumbnails_writes_rgb_jpegs(kind: str) -> None:
    data, declared = _INPUTS[kind]()

    result = make_thumbnails(data, declared)

    assert (result.width, result.height) == (300, 200)
    written = {name: (_open(out).format, _open(out).mode) for name, out in result.images.items()}
    assert written == dict.fromkeys(SIZES, ("JPEG", "RGB"))


def test_make_thumbnails_scales_16_bit_grey_instead_of_clipping() -> None:
    data = _encode(Image.new("I;16", (64, 64), 32768), "PNG")

    small = _open(make_thumbnails(data, "image/png").images["small"]).convert("L")

    assert small.getpixel((32, 32)) == pytest.approx(128, abs=3)


def test_make_thumbnails_keeps_colours_of_an_srgb_profile() -> None:
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    data = _encode(Image.new("RGB", (64, 64), (200, 40, 40)), "PNG", icc_profile=icc)

    small = _open(make_thumbnails(data, "image/png").images["small"])

    assert small.getpixel((32, 32)) == pytest.approx((200, 40, 40), abs=4)
    assert "icc_profile" not in small.info


def test_make_thumbnails_ignores_an_unusable_icc_profile() -> None:
    data = _encode(Image.new("RGB", (64, 64), (200, 40, 40)), "JPEG", icc_profile=b"not a profile")

    small = _open(make_thumbnails(data, "image/jpeg").images["small"])

    assert small.getpixel((32, 32)) == pytest.approx((200, 40, 40), abs=4)
    assert "icc_profile" not in small.info


@pytest.mark.parametrize(
    ("fmt", "declared"),
    [
        ("PNG", "image/jpeg"),
        ("JPEG", "image/png"),
        ("WEBP", "image/jpeg"),
        ("JPEG", "image/webp"),
        ("PNG", "image/webp"),
    ],
)
def test_make_thumbnails_rejects_a_type_other_than_declared(fmt: str, declared: str) -> None:
    data = _encode(_scene((64, 48)), fmt)

    with pytest.raises(ImageRejected, match=f"declared {declared} but the file is a"):
        make_thumbnails(data, declared)


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(random.Random(7).randbytes(4096), id="random"),
        pytest.param(b"", id="empty"),
        pytest.param(b"<html><body>hello</body></html>", id="text"),
        pytest.param(_encode(Image.new("RGB", (8, 8)), "GIF"), id="gif"),
        pytest.param(_encode(Image.new("RGB", (8, 8)), "BMP"), id="bmp"),
    ],
)
def test_make_thumbnails_rejects_non_images(data: bytes) -> None:
    with pytest.raises(ImageRejected, match="not a JPEG, PNG or WebP image"):
        make_thumbnails(data, "image/jpeg")


@pytest.mark.parametrize(("fmt", "keep"), [("JPEG", 0.5), ("JPEG", 0.95), ("PNG", 0.5)])
def test_make_thumbnails_rejects_truncated_files(fmt: str, keep: float) -> None:
    data = _encode(Image.effect_noise((256, 256), 60).convert("RGB"), fmt)

    with pytest.raises(ImageRejected, match="truncated"):
        make_thumbnails(data[: int(len(data) * keep)], TYPES[fmt])


@pytest.mark.parametrize("declared", ["image/gif", "application/octet-stream", ""])
def test_make_thumbnails_rejects_unsupported_declared_types(declared: str) -> None:
    with pytest.raises(ImageRejected, match="unsupported content type"):
        make_thumbnails(_encode(_scene((64, 48)), "PNG"), declared)


@pytest.mark.parametrize(
    ("width", "height"),
    [
        pytest.param(8000, 6500, id="over-our-limit"),
        pytest.param(10000, 10000, id="pillow-warns"),
        pytest.param(20000, 20000, id="pillow-refuses"),
    ],
)
def test_make_thumbnails_rejects_over_50_megapixels_without_decoding(
    decode_calls: list[object], width: int, height: int
) -> None:
    bomb = _bomb_png(width, height)
    assert len(bomb) < 64 * 1024

    with pytest.raises(ImageRejected, match="50 megapixel limit"):
        make_thumbnails(bomb, "image/png")
    assert decode_calls == []


def test_make_thumbnails_rejects_bombs_without_a_warning(
    decode_calls: list[object], recwarn: pytest.WarningsRecorder
) -> None:
    # 100 MP is where Pillow itself only warns; a warning in the logs would be noise.
    with pytest.raises(ImageRejected):
        make_thumbnails(_bomb_png(10000, 10000), "image/png")
    assert [w.category for w in recwarn] == []


def test_make_thumbnails_decodes_exactly_50_megapixels(decode_calls: list[object]) -> None:
    # Reaching the (patched) decoder proves the limit is inclusive, without a 50 MP decode.
    assert MAX_PIXELS == 10000 * 5000

    with pytest.raises(_DecodeAttempted):
        make_thumbnails(_bomb_png(10000, 5000), "image/png")
    assert len(decode_calls) == 1


def test_make_thumbnails_decodes_through_the_patched_loader(decode_calls: list[object]) -> None:
    # Guards the bomb tests above: if decoding bypassed ImageFile.load they would prove nothing.
    with pytest.raises(_DecodeAttempted):
        make_thumbnails(_encode(_scene((64, 48)), "PNG"), "image/png")
    assert len(decode_calls) == 1


def test_images_module_does_not_import_pillow() -> None:
    probe = "import sys, chalicelib.photos.images; print('PIL' in sys.modules)"

    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    )

    assert done.stdout.strip() == "False"
