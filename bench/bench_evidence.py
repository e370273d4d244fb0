"""Evidence reading: OCR time per screenshot (p50/p95) and character accuracy on generated screenshots
(clean light/dark, and noisy JPEGs), the QR decode rate, and APK inspection time. Prints figures.

Everything is generated here (tests/evidence/screens.py, tests/evidence/apkbuild.py): nothing is downloaded.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from handlers.evidence import ocr
from handlers.evidence.emvco import build_payload
from handlers.evidence.limits import Limits
from handlers.evidence.work import read_file
from tests.evidence.apkbuild import build_apk, manifest, signing_identity
from tests.evidence.screens import SCAM_TEXTS, char_accuracy, qr_image, screenshot

LIMITS = Limits()


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def bench_ocr() -> None:
    if not ocr.available():
        print("OCR: tesseract-ocr-vie not installed — skipped (./dev setup installs it)")
        return
    for label, kwargs in (("clean light", {"dark": False}), ("clean dark", {"dark": True}),
                          ("noisy JPEG 720px q60", {"noisy": True})):
        times, accs = [], []
        for i in range(len(SCAM_TEXTS)):
            shot = screenshot(i, **kwargs)
            start = time.perf_counter()
            reading = read_file(shot.png, None, LIMITS)
            times.append(time.perf_counter() - start)
            accs.append(char_accuracy(reading["text"], shot.truth))
        print(f"OCR {label:22s} n={len(times)}  p50 {pct(times, .5) * 1000:6.0f} ms"
              f"  p95 {pct(times, .95) * 1000:6.0f} ms"
              f"  char accuracy mean {statistics.mean(accs):.1%}  min {min(accs):.1%}")


def bench_qr() -> None:
    contents = [f"https://example-{i}.vn/path?x={i}" for i in range(10)]
    contents += [build_payload(bin_="970436", account=f"00710001{i:05d}", amount=str(10000 * i)) for i in range(1, 11)]
    contents += [f"tel:09123456{i:02d}" for i in range(10)]
    decoded = 0
    times = []
    for i, content in enumerate(contents):
        image = qr_image(content, scale=4 + i % 5, on_photo=i % 2 == 0)
        start = time.perf_counter()
        reading = read_file(image, None, Limits())
        times.append(time.perf_counter() - start)
        decoded += any(c["content"] == content for c in reading["codes"])
    print(f"QR decode rate {decoded}/{len(contents)} ({decoded / len(contents):.0%})  "
          f"p50 {pct(times, .5) * 1000:.0f} ms (OCR of the poster included when installed)")


def bench_apk() -> None:
    signer = signing_identity()
    perms = (*tuple(f"android.permission.P{i}" for i in range(40)), "android.permission.RECEIVE_SMS")
    apk = build_apk(manifest("com.example.app", label="Sổ liên lạc", permissions=perms), signer=signer,
                    extra={f"res/raw/f{i}.bin": bytes(2000) for i in range(300)})
    times = []
    for _ in range(50):
        start = time.perf_counter()
        reading = read_file(apk, "a.apk", LIMITS)
        times.append(time.perf_counter() - start)
    assert reading["apk"]["package"] == "com.example.app"
    print(f"APK inspection ({len(apk) // 1024} kB, 300 entries, 41 permissions) p50 {pct(times, .5) * 1000:.1f} ms"
          f"  p95 {pct(times, .95) * 1000:.1f} ms")


if __name__ == "__main__":
    bench_ocr()
    bench_qr()
    bench_apk()
