"""A tip's sealed report: compressed before sealing, and reports sealed before that still open."""

from __future__ import annotations

import base64

import pytest

from storage.crypto import CryptoError
from storage.tips import data_aad, open_data, seal_data
from tests.chat import TEST_CIPHER

REPORT = {"slots": {"contact_channel": "call", "caller_number": "+84912000111", "pretext": "install_app",
                    "asked": ["otp", "bank_account"], "school": "THCS Nguyễn Du", "commune": "Phường 5",
                    "message_text": "Nhà trường yêu cầu phụ huynh cài ứng dụng Sổ liên lạc điện tử " * 5},
          "locale": "vi", "consent": {"contact": False, "wording": "report.v1"}}


def test_sealed_compressed_and_smaller_than_the_json() -> None:
    sealed = seal_data(TEST_CIPHER, 7, REPORT)
    assert open_data(TEST_CIPHER, 7, sealed) == REPORT
    plain = TEST_CIPHER.seal_json(REPORT, aad=data_aad(7))  # how reports were sealed before
    assert len(sealed) < len(plain) * 0.6
    assert "Nguyễn" not in base64.b64decode(sealed).decode(errors="replace")


def test_reports_sealed_as_plain_json_still_open() -> None:
    legacy = TEST_CIPHER.seal_json(REPORT, aad=data_aad(7))
    assert open_data(TEST_CIPHER, 7, legacy) == REPORT


def test_bound_to_its_tip() -> None:
    with pytest.raises(CryptoError):
        open_data(TEST_CIPHER, 8, seal_data(TEST_CIPHER, 7, REPORT))
