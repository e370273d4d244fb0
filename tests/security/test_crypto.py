from __future__ import annotations

import pytest

from storage.crypto import Cipher, CryptoError, new_key


def cipher(current: str = "k1", **keys: str) -> Cipher:
    return Cipher.from_config(keys or {"k1": new_key()}, current, new_key())


def test_round_trip_and_no_plaintext() -> None:
    c = cipher()
    token = c.seal_json({"contact_phone": "+84988777666"}, aad="tips.data")
    assert "84988777666" not in token
    assert c.open_json(token, aad="tips.data") == {"contact_phone": "+84988777666"}
    assert c.seal_json("x", aad="a") != c.seal_json("x", aad="a")  # random nonce


def test_aad_binds_value_to_its_field() -> None:
    c = cipher()
    token = c.seal_text("0988777666", aad="conversations.state")
    with pytest.raises(CryptoError, match="another field"):
        c.open_text(token, aad="tips.data")


def test_tampering_is_detected() -> None:
    c = cipher()
    blob = bytearray(c.seal(b"secret", aad="f"))
    blob[-1] ^= 1
    with pytest.raises(CryptoError):
        c.open(bytes(blob), aad="f")


def test_rotation_old_key_still_opens() -> None:
    k1, k2 = new_key(), new_key()
    old = Cipher.from_config({"k1": k1}, "k1", new_key())
    token = old.seal_text("hello", aad="f")
    both = Cipher(keys=Cipher.from_config({"k1": k1, "k2": k2}, "k2", new_key()).keys, current="k2",
                  index_key=old.index_key)
    assert both.open_text(token, aad="f") == "hello"
    assert both.token_key_id(token) == "k1"
    assert both.token_key_id(both.seal_text("hello", aad="f")) == "k2"
    only_new = Cipher.from_config({"k2": k2}, "k2", new_key())
    with pytest.raises(CryptoError, match="unknown key"):
        only_new.open_text(token, aad="f")


def test_blind_index_is_keyed_and_purpose_bound() -> None:
    c = cipher()
    assert c.blind_index("+84988777666", purpose="phone") == c.blind_index("+84988777666", purpose="phone")
    assert c.blind_index("+84988777666", purpose="phone") != c.blind_index("+84988777666", purpose="chat")
    assert c.blind_index("x", purpose="p") != cipher().blind_index("x", purpose="p")


@pytest.mark.parametrize(("keys", "current", "message"), [
    ({"k1": "not base64!"}, "k1", "not base64"),
    ({"k1": "AAAA"}, "k1", "32 bytes"),
    ({"k1": new_key()}, "k9", "not among"),
])
def test_bad_key_config(keys: dict[str, str], current: str, message: str) -> None:
    with pytest.raises(CryptoError, match=message):
        Cipher.from_config(keys, current, new_key())
