"""Phone screenshots the tests (and bench/bench_evidence.py) draw themselves: Vietnamese text with a system
font, chat bubbles, light and dark mode, a status bar, and JPEG noise — no downloaded images."""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import segno
from PIL import Image, ImageDraw, ImageFont

FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
)

SCAM_TEXTS = (
    ("Trường THCS Nguyễn Du", [
        "Kính gửi phụ huynh học sinh lớp 6A, nhà trường đang cập nhật hồ sơ học sinh.",
        "Quý phụ huynh vui lòng cài đặt ứng dụng Sổ liên lạc điện tử tại link http://vnedu-so.com/app.apk "
        "và đọc mã OTP cho giáo viên chủ nhiệm.",
        "Liên hệ thầy Hùng 0912 345 678.",
    ]),
    ("0987 654 321", [
        "Phòng Giáo dục thông báo: phụ huynh cần xác nhận mã định danh điện tử cho học sinh trước ngày 20.",
        "Vui lòng cung cấp số căn cước và ngày sinh của cháu qua tin nhắn này.",
    ]),
    ("Cô Lan GVCN", [
        "Chào anh chị, con đang bị ngã ở trường và phải đi cấp cứu.",
        "Anh chị chuyển tiền gấp vào số tài khoản 0071000123456 Vietcombank để nhà trường đóng viện phí.",
    ]),
    ("VNEDU", [
        "Nhà trường hoàn tiền học phí học kỳ 1. Phụ huynh truy cập https://hoantien-vnedu.net để nhận lại tiền.",
        "Nhập số thẻ và mã xác thực để hoàn tất.",
    ]),
    ("Thầy Minh", [
        "Họp phụ huynh lớp 9B lúc 8 giờ sáng thứ bảy tại phòng học số 12.",
        "Kính mời quý phụ huynh đến đúng giờ.",
    ]),
)


def font_path() -> str:
    for path in FONT_CANDIDATES:
        if Path(path).exists():
            return path
    raise RuntimeError("no system font: install fonts-noto-core (./dev setup does)")


@dataclass(frozen=True)
class Screenshot:
    png: bytes
    truth: str  # the text a perfect reader gets (header, then each bubble)


def _wrap(draw: ImageDraw.ImageDraw, text: str, font: ImageFont.FreeTypeFont, width: float) -> list[str]:
    lines, current = [], ""
    for word in text.split():
        trial = f"{current} {word}".strip()
        if draw.textlength(trial, font=font) <= width or not current:
            current = trial
        else:
            lines.append(current)
            current = word
    lines.append(current)
    return lines


def render(header: str, bubbles: list[str], *, dark: bool = False, width: int = 1080, height: int = 2340,
           sent_last: bool = True) -> Image.Image:
    """A chat screenshot: status bar, header with the sender, received bubbles, the last one sent (blue)."""
    bg, fg = ((0, 0, 0), (255, 255, 255)) if dark else ((255, 255, 255), (0, 0, 0))
    image = Image.new("RGB", (width, height), bg)
    draw = ImageDraw.Draw(image)
    size = int(width * 0.039)
    font = ImageFont.truetype(font_path(), size)
    small = ImageFont.truetype(font_path(), int(width * 0.033))
    draw.text((40, 20), "9:41", font=small, fill=fg)  # the status bar the reader must ignore
    draw.rectangle((width - 120, 30, width - 50, 60), outline=fg, width=3)
    draw.text((140, int(height * 0.06)), header, font=font, fill=fg)
    y = int(height * 0.13)
    for i, text in enumerate(bubbles):
        lines = _wrap(draw, text, font, width * 0.7)
        line_h = int(size * 1.35)
        h = line_h * len(lines) + 40
        w = max(draw.textlength(line, font=font) for line in lines) + 60
        sent = sent_last and i == len(bubbles) - 1
        x = width - w - 40 if sent else 40
        fill = (11, 132, 255) if sent else ((38, 38, 41) if dark else (233, 233, 235))
        ink = (255, 255, 255) if sent or dark else (0, 0, 0)
        draw.rounded_rectangle((x, y, x + w, y + h), radius=40, fill=fill)
        for j, line in enumerate(lines):
            draw.text((x + 30, y + 20 + j * line_h), line, font=font, fill=ink)
        y += h + 30
    return image


def png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def noisy_jpeg(image: Image.Image, *, seed: int = 1, width: int = 720, quality: int = 60) -> bytes:
    """What a messaging app makes of a screenshot: scaled down, sensor-like noise, strong JPEG compression."""
    small = image.resize((width, int(image.height * width / image.width)), Image.Resampling.BILINEAR)
    pixels = np.asarray(small).astype(np.int16)
    pixels = np.clip(pixels + np.random.default_rng(seed).normal(0, 8, pixels.shape), 0, 255).astype(np.uint8)
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, "JPEG", quality=quality)
    return out.getvalue()


def screenshot(index: int = 0, *, dark: bool = False, noisy: bool = False) -> Screenshot:
    header, bubbles = SCAM_TEXTS[index % len(SCAM_TEXTS)]
    image = render(header, bubbles, dark=dark)
    data = noisy_jpeg(image, seed=index) if noisy else png(image)
    return Screenshot(data, "\n".join([header, *bubbles]))


def qr_image(content: str, *, scale: int = 8, on_photo: bool = False) -> bytes:
    """A QR code as PNG; ``on_photo`` puts it small on a grey poster with text around it."""
    out = io.BytesIO()
    segno.make(content, error="m").save(out, kind="png", scale=scale, border=4)
    if not on_photo:
        return out.getvalue()
    code = Image.open(io.BytesIO(out.getvalue())).convert("RGB")
    poster = Image.new("RGB", (code.width * 3, code.height * 3), (200, 200, 190))
    ImageDraw.Draw(poster).text((20, 20), "Quét mã để đóng học phí", font=ImageFont.truetype(font_path(), 40),
                                fill=(20, 20, 20))
    poster.paste(code, (code.width, code.height))
    return png(poster)


def char_accuracy(read: str, truth: str) -> float:
    """1 − edit distance / length, on whitespace-collapsed text."""
    a, b = " ".join(read.split()), " ".join(truth.split())
    if not b:
        return 1.0 if not a else 0.0
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return max(0.0, 1 - prev[-1] / len(b))
