"""APK files the tests build themselves: a binary AndroidManifest.xml written from scratch, zipped, signed.

The manifest is Android's binary XML (AXML): a string pool (UTF-16), a resource map of the framework
attribute ids, then namespace and element chunks — the same layout aapt2 writes, so the parser under test
meets what it meets in real APKs.
"""

from __future__ import annotations

import datetime as dt
import io
import struct
import zipfile
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, pkcs7
from cryptography.x509.oid import NameOID

ANDROID_NS = "http://schemas.android.com/apk/res/android"
ATTR_IDS = {"name": 0x01010003, "label": 0x01010001, "versionCode": 0x0101021B, "versionName": 0x0101021C,
            "permission": 0x01010006}
STRING, INT_DEC, REFERENCE = 0x03, 0x10, 0x01


@dataclass
class Element:
    tag: str
    attrs: list[tuple[str, object]]  # (name, value); android:* for framework attributes
    children: list[Element]


class _Pool:
    def __init__(self, attr_names: list[str]) -> None:
        self.strings: list[str] = list(attr_names)  # attribute names first: the resource map covers them

    def index(self, s: str) -> int:
        if s not in self.strings:
            self.strings.append(s)
        return self.strings.index(s)

    def chunk(self) -> bytes:
        offsets, body = [], b""
        for s in self.strings:
            offsets.append(len(body))
            encoded = s.encode("utf-16-le")
            body += struct.pack("<H", len(s)) + encoded + b"\x00\x00"
        body += b"\x00" * (-len(body) % 4)
        header_size = 28
        strings_start = header_size + 4 * len(offsets)
        size = strings_start + len(body)
        return (struct.pack("<HHIIIIII", 0x0001, header_size, size, len(self.strings), 0, 0, strings_start, 0)
                + b"".join(struct.pack("<I", o) for o in offsets) + body)


def axml(root: Element) -> bytes:
    """Encode ``root`` as a binary manifest."""
    names: list[str] = []

    def collect(e: Element) -> None:
        for name, _ in e.attrs:
            bare = name.removeprefix("android:")
            if name.startswith("android:") and bare not in names:
                names.append(bare)
        for c in e.children:
            collect(c)

    collect(root)
    pool = _Pool(names)
    resmap = b"".join(struct.pack("<I", ATTR_IDS[n]) for n in names)
    ns_prefix, ns_uri = pool.index("android"), pool.index(ANDROID_NS)
    chunks: list[bytes] = [struct.pack("<HHIIIII", 0x0100, 16, 24, 1, 0xFFFFFFFF, ns_prefix, ns_uri)]

    def encode(e: Element) -> None:
        attrs = b""
        for name, value in e.attrs:
            android = name.startswith("android:")
            bare = name.removeprefix("android:")
            ns = ns_uri if android else 0xFFFFFFFF
            if isinstance(value, int):
                attrs += struct.pack("<IIIHBBI", ns, pool.index(bare), 0xFFFFFFFF, 8, 0, INT_DEC, value)
            elif isinstance(value, str) and value.startswith("@0x"):
                attrs += struct.pack("<IIIHBBI", ns, pool.index(bare), 0xFFFFFFFF, 8, 0, REFERENCE, int(value[1:], 16))
            else:
                idx = pool.index(str(value))
                attrs += struct.pack("<IIIHBBI", ns, pool.index(bare), idx, 8, 0, STRING, idx)
        tag = pool.index(e.tag)
        count = len(e.attrs)
        chunks.append(struct.pack("<HHIII", 0x0102, 16, 36 + 20 * count, 1, 0xFFFFFFFF)
                      + struct.pack("<IIHHHHHH", 0xFFFFFFFF, tag, 20, 20, count, 0, 0, 0) + attrs)
        for c in e.children:
            encode(c)
        chunks.append(struct.pack("<HHIIIII", 0x0103, 16, 24, 1, 0xFFFFFFFF, 0xFFFFFFFF, tag))

    encode(root)
    chunks.append(struct.pack("<HHIIIII", 0x0101, 16, 24, 1, 0xFFFFFFFF, ns_prefix, ns_uri))
    pool_chunk = pool.chunk()
    resmap_chunk = struct.pack("<HHI", 0x0180, 8, 8 + len(resmap)) + resmap
    body = pool_chunk + resmap_chunk + b"".join(chunks)
    return struct.pack("<HHI", 0x0003, 8, 8 + len(body)) + body


def manifest(package: str, *, label: str = "App", permissions: tuple[str, ...] = (), version: str = "1.0",
             accessibility_service: bool = False) -> bytes:
    app_children = []
    if accessibility_service:
        app_children.append(Element("service", [("android:name", ".Helper"), (
            "android:permission", "android.permission.BIND_ACCESSIBILITY_SERVICE")], []))
    root = Element("manifest", [("android:versionCode", 7), ("android:versionName", version), ("package", package)], [
        *[Element("uses-permission", [("android:name", p)], []) for p in permissions],
        Element("application", [("android:label", label)], app_children),
    ])
    return axml(root)


def signing_identity(common_name: str = "Test Signer") -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(now).not_valid_after(now + dt.timedelta(days=3650))
            .sign(key, hashes.SHA256()))
    return key, cert


def build_apk(manifest_bytes: bytes, *, signer: tuple[ec.EllipticCurvePrivateKey, x509.Certificate] | None = None,
              extra: dict[str, bytes] | None = None) -> bytes:
    """A zip with the manifest, a dex stub and (when ``signer``) a v1 signature (META-INF/CERT.EC)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("AndroidManifest.xml", manifest_bytes)
        zf.writestr("classes.dex", b"dex\n035\x00" + b"\x00" * 100)
        for name, data in (extra or {}).items():
            zf.writestr(name, data)
        if signer is not None:
            key, cert = signer
            sf = b"Signature-Version: 1.0\r\nCreated-By: tests\r\n\r\n"
            zf.writestr("META-INF/MANIFEST.MF", b"Manifest-Version: 1.0\r\n\r\n")
            zf.writestr("META-INF/CERT.SF", sf)
            sig = (pkcs7.PKCS7SignatureBuilder().set_data(sf).add_signer(cert, key, hashes.SHA256())
                   .sign(Encoding.DER, [pkcs7.PKCS7Options.DetachedSignature]))
            zf.writestr("META-INF/CERT.EC", sig)
    return out.getvalue()


def fingerprint(cert: x509.Certificate) -> str:
    import hashlib

    return hashlib.sha256(cert.public_bytes(Encoding.DER)).hexdigest()
