"""APK files, inspected statically and never executed: package, label, version, permissions, signer.

The archive is read with hard limits before anything is decompressed: entry count, names (absolute paths,
``..``, NUL bytes, duplicates are signs of a hostile archive), and each entry's size and compression ratio
(a zip bomb inflates 1 MB into gigabytes). Only ``AndroidManifest.xml`` and the signature files are read,
each with a bounded read. The binary manifest is decoded by apkInspector (a small, maintained AXML parser,
measured in bench/bench_evidence.py); the signing certificate comes from the v2/v3 signing block or the v1
``META-INF/*.RSA`` file. The certificate is read, not verified: Android itself refuses to install an APK
whose signature does not match, so a copied certificate cannot make a repackaged app installable.
"""

from __future__ import annotations

import hashlib
import io
import logging
import struct
import zipfile
from dataclasses import dataclass, field
from typing import Any


def _import_quietly() -> Any:
    """apkInspector calls ``logging.basicConfig(level=DEBUG)`` when imported: undo that, keep our logging."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    from apkInspector import axml

    for handler in root.handlers[:]:
        if handler not in handlers:
            root.removeHandler(handler)
    root.setLevel(level)
    return axml


_axml = _import_quietly()
ManifestStruct, XmlStartElement = _axml.ManifestStruct, _axml.XmlStartElement

from cryptography import x509  # noqa: E402
from cryptography.hazmat.primitives.serialization import Encoding, pkcs7  # noqa: E402

from handlers.evidence.limits import Limits, Unreadable  # noqa: E402

MANIFEST = "AndroidManifest.xml"
ANDROID_NS = "http://schemas.android.com/apk/res/android"
# Framework attribute ids (android.R.attr): obfuscated manifests blank the names and keep only these.
_ATTR_IDS = {0x01010003: "name", 0x01010001: "label", 0x0101021B: "versionCode", 0x0101021C: "versionName",
             0x01010006: "permission"}

# Permissions that let an app read or intercept OTPs, watch the screen or take over the phone.
DANGEROUS = {
    "android.permission.RECEIVE_SMS": "sms",
    "android.permission.READ_SMS": "sms",
    "android.permission.SEND_SMS": "sms_send",
    "android.permission.BIND_ACCESSIBILITY_SERVICE": "accessibility",
    "android.permission.SYSTEM_ALERT_WINDOW": "overlay",
    "android.permission.REQUEST_INSTALL_PACKAGES": "install_packages",
    "android.permission.BIND_DEVICE_ADMIN": "device_admin",
    "android.permission.BIND_NOTIFICATION_LISTENER_SERVICE": "notification_listener",
    "android.permission.READ_CALL_LOG": "call_log",
    "android.permission.CALL_PHONE": "call_phone",
    "android.permission.READ_CONTACTS": "contacts",
}
# A service or receiver *protected by* these is itself one (an accessibility service, a device admin).
_BIND_PERMISSIONS = {"android.permission.BIND_ACCESSIBILITY_SERVICE", "android.permission.BIND_DEVICE_ADMIN",
                     "android.permission.BIND_NOTIFICATION_LISTENER_SERVICE"}
_APK_SIG_MAGIC = b"APK Sig Block 42"
_SIG_BLOCK_IDS = (0xF05368C0, 0x7109871A)  # v3 first: it names the current signer after a key rotation


@dataclass(frozen=True, slots=True)
class ApkInfo:
    """What an APK says about itself. ``label`` is None when it is a resource reference we do not resolve."""

    package: str | None
    label: str | None
    version_name: str | None
    version_code: str | None
    permissions: tuple[str, ...]
    red_flags: tuple[str, ...]  # codes from DANGEROUS, sorted, unique
    certificate_sha256: str | None
    signer: str | None  # the certificate's subject, as text
    file_name: str | None = None
    warnings: tuple[str, ...] = field(default=())

    def to_json(self) -> dict[str, Any]:
        return {"package": self.package, "label": self.label, "version_name": self.version_name,
                "version_code": self.version_code, "permissions": list(self.permissions),
                "red_flags": list(self.red_flags), "certificate_sha256": self.certificate_sha256,
                "signer": self.signer, "file_name": self.file_name, "warnings": list(self.warnings)}


def looks_like_apk(data: bytes) -> bool:
    """A zip archive (local file header) — the APK test is whether a manifest is inside."""
    return data[:4] == b"PK\x03\x04"


def _check_names(infos: list[zipfile.ZipInfo]) -> None:
    seen: set[str] = set()
    for info in infos:
        name = info.filename
        parts = name.replace("\\", "/").split("/")
        if "\x00" in name or name.startswith(("/", "\\")) or ".." in parts or (len(name) > 1 and name[1] == ":"):
            raise Unreadable("path_traversal", f"the archive has a hostile entry name: {name[:80]!r}")
        if name in seen:
            raise Unreadable("malformed", f"the archive has two entries named {name[:80]!r}")
        seen.add(name)


def _read(zf: zipfile.ZipFile, info: zipfile.ZipInfo, cap: int, limits: Limits) -> bytes:
    if info.file_size > cap:
        raise Unreadable("too_large", f"{info.filename} is larger than {cap:,} bytes")
    if info.file_size > 64 * 1024 and info.file_size > limits.max_ratio * max(info.compress_size, 1):
        raise Unreadable("zip_bomb", f"{info.filename} inflates {info.file_size // max(info.compress_size, 1)}×")
    try:
        with zf.open(info) as handle:
            data = handle.read(cap + 1)  # never more than the cap, whatever the header claims
    except (zipfile.BadZipFile, OSError, NotImplementedError, RuntimeError, ValueError, EOFError) as exc:
        raise Unreadable("malformed", f"{info.filename} cannot be read: {exc}") from None
    if len(data) > cap:
        raise Unreadable("zip_bomb", f"{info.filename} inflates past {cap:,} bytes")
    return data


def _open(data: bytes, limits: Limits) -> tuple[zipfile.ZipFile, list[zipfile.ZipInfo]]:
    if len(data) > limits.max_apk_bytes:
        raise Unreadable("too_large", f"APK larger than {limits.max_apk_bytes // (1024 * 1024)} MB")
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        infos = zf.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise Unreadable("not_apk", f"not a readable APK (zip) file: {exc}") from None
    if len(infos) > limits.max_apk_entries:
        raise Unreadable("zip_bomb", f"the archive has {len(infos):,} entries")
    _check_names(infos)
    total = sum(i.file_size for i in infos)
    if total > limits.max_ratio * max(len(data), 1):
        raise Unreadable("zip_bomb", f"the archive claims {total:,} bytes once unpacked")
    return zf, infos


class _Manifest:
    """The elements of a decoded binary manifest, with attribute names resolved (also when obfuscated)."""

    def __init__(self, raw: bytes) -> None:
        try:
            parsed = ManifestStruct.parse(io.BytesIO(raw))
        except Exception as exc:  # a hostile manifest can break the parser anywhere: all of it is "malformed"
            raise Unreadable("bad_manifest", f"AndroidManifest.xml cannot be decoded: {type(exc).__name__}") from None
        self.strings: list[str] = list(parsed.string_pool.string_list)
        self.resids: list[int] = list(parsed.resource_map.resids) if parsed.resource_map else []
        self.elements = [e for e in parsed.elements if isinstance(e, XmlStartElement)]
        if not self.elements or self._string(self.elements[0].attrext[1]) != "manifest":
            raise Unreadable("bad_manifest", "AndroidManifest.xml has no <manifest> element")

    def _string(self, index: int) -> str | None:
        return self.strings[index] if 0 <= index < len(self.strings) else None

    def tag(self, element: Any) -> str:
        return self._string(element.attrext[1]) or ""

    def attrs(self, element: Any) -> dict[str, str]:
        out: dict[str, str] = {}
        for attr in element.attributes:
            name = self._string(attr.name_index)
            if not name and 0 <= attr.name_index < len(self.resids):
                name = _ATTR_IDS.get(self.resids[attr.name_index])
            if not name:
                continue
            if attr.typed_value_datatype == 3:  # a string
                value = self._string(attr.typed_value_data)
            elif attr.typed_value_datatype == 1:  # a reference (@string/app_name): not resolved here
                value = f"@{attr.typed_value_data:#010x}"
            elif attr.raw_value_index != 0xFFFFFFFF:
                value = self._string(attr.raw_value_index)
            else:
                value = str(attr.typed_value_data)
            if value is not None:
                out.setdefault(name, value)
        return out


def _certificate(zf: zipfile.ZipFile, infos: list[zipfile.ZipInfo], data: bytes,
                 limits: Limits) -> x509.Certificate | None:
    cert = _v2_certificate(data)
    if cert is not None:
        return cert
    for info in infos:
        name = info.filename.upper()
        if name.startswith("META-INF/") and name.endswith((".RSA", ".DSA", ".EC")):
            try:
                certs = pkcs7.load_der_pkcs7_certificates(_read(zf, info, limits.max_cert_bytes, limits))
            except ValueError:
                continue
            if certs:
                return certs[0]
    return None


def _v2_certificate(data: bytes) -> x509.Certificate | None:
    """The first signer's certificate from an APK Signing Block (schemes v3 and v2), if there is one."""
    eocd = data.rfind(b"PK\x05\x06", max(0, len(data) - 65_557))
    if eocd < 0 or eocd + 22 > len(data):
        return None
    cd_offset = struct.unpack_from("<I", data, eocd + 16)[0]
    if cd_offset < 32 or cd_offset > len(data) or data[cd_offset - 16:cd_offset] != _APK_SIG_MAGIC:
        return None
    size = struct.unpack_from("<Q", data, cd_offset - 24)[0]
    start = cd_offset - size - 8
    if start < 0 or size < 24:
        return None
    pairs, pos, end = {}, start + 8, cd_offset - 24
    while pos + 12 <= end:
        length, pair_id = struct.unpack_from("<QI", data, pos)
        if length < 4 or pos + 8 + length > end:
            return None
        pairs[pair_id] = data[pos + 12:pos + 8 + length]
        pos += 8 + length
    for block_id in _SIG_BLOCK_IDS:
        if block_id in pairs:
            try:
                return _first_cert(pairs[block_id])
            except (struct.error, ValueError):
                return None
    return None


def _prefixed(buf: bytes, pos: int) -> tuple[bytes, int]:
    (length,) = struct.unpack_from("<I", buf, pos)
    if pos + 4 + length > len(buf):
        raise ValueError("length past the end")
    return buf[pos + 4:pos + 4 + length], pos + 4 + length


def _first_cert(block: bytes) -> x509.Certificate | None:
    signers, _ = _prefixed(block, 0)
    signer, _ = _prefixed(signers, 0)
    signed_data, _ = _prefixed(signer, 0)
    _digests, pos = _prefixed(signed_data, 0)
    certificates, _ = _prefixed(signed_data, pos)
    first, _ = _prefixed(certificates, 0)
    return x509.load_der_x509_certificate(first)


def inspect_apk(data: bytes, limits: Limits, *, file_name: str | None = None) -> ApkInfo:
    """Read an APK's identity and permissions. :class:`Unreadable` for anything hostile or broken."""
    zf, infos = _open(data, limits)
    with zf:
        entry = next((i for i in infos if i.filename == MANIFEST), None)
        if entry is None:
            raise Unreadable("not_apk", "a zip file without AndroidManifest.xml is not an APK")
        manifest = _Manifest(_read(zf, entry, limits.max_manifest_bytes, limits))
        cert = _certificate(zf, infos, data, limits)
    top = manifest.attrs(manifest.elements[0])
    permissions: list[str] = []
    flags: set[str] = set()
    label: str | None = None
    for element in manifest.elements[1:]:
        tag, attrs = manifest.tag(element), manifest.attrs(element)
        if tag in ("uses-permission", "uses-permission-sdk-23") and attrs.get("name"):
            permissions.append(attrs["name"][:200])
        elif tag == "application" and label is None:
            label = attrs.get("label")
        elif tag in ("service", "receiver") and attrs.get("permission") in _BIND_PERMISSIONS:
            flags.add(DANGEROUS[attrs["permission"]])
    flags |= {DANGEROUS[p] for p in permissions if p in DANGEROUS}
    if label is not None and label.startswith("@"):
        label = None  # a resource reference: the label lives in resources.arsc, which we do not decode
    return ApkInfo(
        package=(top.get("package") or None), label=label[:200] if label else None,
        version_name=top.get("versionName"), version_code=top.get("versionCode"),
        permissions=tuple(dict.fromkeys(permissions))[:200], red_flags=tuple(sorted(flags)),
        certificate_sha256=hashlib.sha256(cert.public_bytes(Encoding.DER)).hexdigest() if cert else None,
        signer=cert.subject.rfc4514_string()[:300] if cert else None,
        file_name=file_name,
    )
