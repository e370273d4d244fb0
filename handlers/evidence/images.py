"""Images from parents: decoded safely, then cleaned up for OCR (phone screenshots, dark mode, chat bubbles).

Decoding reads the header first and refuses anything over the pixel cap before a single pixel is
decompressed, so a decompression bomb costs nothing; a corrupt file becomes :class:`Unreadable`.
"""

from __future__ import annotations

import io
import warnings

import numpy as np
from PIL import Image, ImageFilter, ImageOps, UnidentifiedImageError
from scipy import ndimage

from handlers.evidence.limits import Limits, Unreadable

_FORMATS = ("PNG", "JPEG", "GIF", "WEBP")
PAGE_TOLERANCE = 40  # grey levels: how far a pixel may be from the page colour and still be page


def decode(data: bytes, limits: Limits) -> Image.Image:
    """The image as RGB, or :class:`Unreadable` (not an image, corrupt, too many pixels)."""
    if len(data) > limits.max_image_bytes:
        raise Unreadable("too_large", f"image larger than {limits.max_image_bytes // (1024 * 1024)} MB")
    with warnings.catch_warnings():
        # Pillow's own bomb check warns (an error under our test settings) before ours can answer clearly.
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data), formats=_FORMATS)
        except Image.DecompressionBombError:
            raise Unreadable("too_many_pixels", "the image claims far too many pixels (a decompression bomb)") from None
        except (UnidentifiedImageError, OSError, ValueError) as exc:
            raise Unreadable("not_image", f"not a readable image: {exc}") from None
        width, height = image.size
        if width <= 0 or height <= 0 or width * height > limits.max_pixels or max(width, height) > limits.max_side:
            raise Unreadable("too_many_pixels", f"image of {width}×{height} pixels is over the limit of "
                                                f"{limits.max_pixels:,} pixels")
        try:
            image.seek(0)  # an animated GIF: its first frame is what a screenshot would be
            image.load()
            rgb = ImageOps.exif_transpose(image).convert("RGB")
        except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
            raise Unreadable("corrupt", f"the image is damaged: {exc}") from None
    return rgb


def _runs(flags: np.ndarray, min_gap: int) -> list[tuple[int, int]]:
    """[start, end) runs of True, joining runs separated by fewer than ``min_gap`` False values."""
    idx = np.flatnonzero(flags)
    if idx.size == 0:
        return []
    breaks = np.flatnonzero(np.diff(idx) > min_gap)
    starts = np.concatenate(([idx[0]], idx[breaks + 1]))
    ends = np.concatenate((idx[breaks], [idx[-1]])) + 1
    return list(zip(starts.tolist(), ends.tolist(), strict=True))


def _normalise_band(grey: np.ndarray) -> np.ndarray:
    """One horizontal band (a chat bubble or a line) → dark text on white, whatever its colours."""
    region = grey.astype(np.int16)
    hist = np.bincount(region.ravel(), minlength=256)
    background = int(np.argmax(hist))  # the bubble's colour: the most common grey in it
    lighter = int((region > background + PAGE_TOLERANCE).sum())
    darker = int((region < background - PAGE_TOLERANCE).sum())
    # The page around a rounded bubble's corners stays white: light pixels that touch the band's edge (white
    # text inside the bubble does not).
    light = region >= 255 - PAGE_TOLERANCE
    labels, _count = ndimage.label(light)
    edge = np.unique(np.concatenate((labels[0], labels[-1], labels[:, 0], labels[:, -1])))
    # Grown by a few pixels: the bubble's anti-aliased (and JPEG-ringing) rim would otherwise stay as an outline
    # that tesseract reads as a box around the text, and then drops the text.
    page = ndimage.binary_dilation(np.isin(labels, edge[edge > 0]), iterations=6)
    if lighter > darker:  # light text on a dark or coloured bubble
        region = 255 - region
        background = 255 - background
    ink = np.percentile(region, 2)
    span = max(background - ink, 1.0)
    out = np.clip((region - ink) * (255.0 / span), 0, 255)
    if lighter > darker:
        out[page] = 255
    return out.astype(np.uint8)


def prepare_for_ocr(image: Image.Image, limits: Limits) -> Image.Image:
    """Greyscale, dark text on white, status bar cut off, sized for tesseract.

    Phone screenshots mix polarities: dark mode is light text on black, and chat bubbles put white text on
    blue. Tesseract reads dark-on-light best, so the page is made white first and then every horizontal band
    that differs from the page (a bubble, a header bar) is normalised on its own.
    """
    grey = ImageOps.grayscale(image)
    width, height = grey.size
    if height / max(width, 1) >= 1.6:
        # A phone's status bar (clock, battery, signal) is noise for OCR and never part of the evidence.
        grey = grey.crop((0, int(height * 0.035), width, height))
    longest = max(grey.size)
    if longest > limits.ocr_max_side:
        scale = limits.ocr_max_side / longest
        size = (max(1, int(grey.width * scale)), max(1, int(grey.height * scale)))
        grey = grey.resize(size, Image.Resampling.LANCZOS)
    elif grey.width < 900:
        # Messaging apps shrink screenshots to ~720 px: small glyphs lose their diacritics unless scaled up.
        scale = min(2.0, 1080 / max(grey.width, 1))
        grey = grey.resize((int(grey.width * scale), int(grey.height * scale)), Image.Resampling.LANCZOS)
    # A 3×3 median removes JPEG speckle (it would read as ink) and keeps strokes: glyphs are now ≥ 2 px wide.
    pixels = np.asarray(grey.filter(ImageFilter.MedianFilter(3)))
    edges = np.concatenate((pixels[0], pixels[-1], pixels[:, 0], pixels[:, -1]))
    if np.median(edges) < 128:  # dark mode: the page is black
        pixels = 255 - pixels
    pixels = pixels.copy()
    ink = pixels < 255 - PAGE_TOLERANCE
    for top, bottom in _runs(np.asarray(ink.any(axis=1)), max(2, pixels.shape[0] // 200)):
        cols = _runs(np.asarray(ink[top:bottom].any(axis=0)), max(2, pixels.shape[1] // 50))
        for left, right in cols:
            box = pixels[top:bottom, left:right]
            if ink[top:bottom, left:right].mean() > 0.5:  # mostly non-page: a filled bubble or bar
                pixels[top:bottom, left:right] = _normalise_band(box)
    return Image.fromarray(pixels)
