"""Reading a QR code from an uploaded photo or screenshot, safely.

An upload is bounded before any pixel is decoded: its bytes (``qr_upload_max_bytes``), its
format (PNG, JPEG, WebP, GIF, BMP by their signature, never by name or declared type) and
the width and height its header declares (``qr_max_pixels``, also Pillow's own
``MAX_IMAGE_PIXELS``, and a longest side). A decompression bomb declares its huge size in
that header and is refused there; JPEGs are decoded straight at a reduced scale. The
decoder is zxing-cpp, in a worker thread, a few at a time (``qr_decoders``).
"""

from __future__ import annotations

import asyncio
import io
import warnings

import zxingcpp
from PIL import Image, UnidentifiedImageError

from app.errors import InvalidInput

FORMATS = ("PNG", "JPEG", "WEBP", "GIF", "BMP")
MAX_SIDE = 12_000
# Enough resolution for any QR code a phone shows; larger images are scaled down first.
WORK_SIDE = 2_000
QR_CODE = zxingcpp.BarcodeFormat.QRCode


class UnreadableImage(InvalidInput):
    title = "The image cannot be used"


def _(message: str) -> str:
    """Marks a message for the portal's catalogue; the page translates it (``detail``)."""
    return message


def _refuse(message: str) -> UnreadableImage:
    return UnreadableImage(
        message, errors=[{"loc": ["body", "image"], "msg": message, "type": "value_error"}]
    )


def _grey(data: bytes, max_pixels: int) -> Image.Image:
    """The image in shades of grey, at most WORK_SIDE a side, or a 422 saying why not."""
    Image.MAX_IMAGE_PIXELS = max_pixels
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=FORMATS) as image:  # the header only
                width, height = image.size
                if width * height > max_pixels or max(width, height) > MAX_SIDE:
                    raise _refuse(_("the image is too large"))
                if image.format == "JPEG":
                    image.draft("L", (WORK_SIDE, WORK_SIDE))
                grey = image.convert("L")
    except UnreadableImage:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _refuse(_("the image is too large")) from None
    except UnidentifiedImageError:
        raise _refuse(_("this is not an image the portal reads (PNG, JPEG, WebP, GIF)")) from None
    except (OSError, ValueError, SyntaxError, EOFError, MemoryError):
        raise _refuse(_("the image is damaged or truncated")) from None
    grey.thumbnail((WORK_SIDE, WORK_SIDE))
    return grey


def decode_qr(data: bytes, max_pixels: int) -> str:
    """The text of the first QR code in the image (blocking: run it in a thread)."""
    if not data:
        raise _refuse(_("no image was sent"))
    grey = _grey(data, max_pixels)
    found = zxingcpp.read_barcodes(grey, formats=zxingcpp.BarcodeFormats(QR_CODE))
    texts = [code.text for code in found if code.text]
    if not texts:
        raise _refuse(_("no QR code was found in the image; try a sharper photo"))
    return texts[0]


class QRReader:
    """Decodes uploads in worker threads, at most ``slots`` at once per process."""

    def __init__(self, slots: int, max_bytes: int, max_pixels: int) -> None:
        self._slots = asyncio.Semaphore(slots)
        self.max_bytes = max_bytes
        self.max_pixels = max_pixels

    async def read(self, data: bytes) -> str:
        if len(data) > self.max_bytes:
            raise _refuse(_("the image is larger than the portal accepts"))
        async with self._slots:
            return await asyncio.to_thread(decode_qr, data, self.max_pixels)
