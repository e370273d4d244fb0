"""The webhook's HTTP/1.1 client against small real servers on 127.0.0.1 that misbehave on purpose."""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from bot.intake.http1 import Http1Pool, HttpError

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
OK = b"HTTP/1.1 204 No Content\r\n\r\n"


async def read_request(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    length = next(int(line.split(b":")[1]) for line in lines if line.lower().startswith(b"content-length"))
    return head + await reader.readexactly(length)


class Server:
    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.connections = 0
        self.requests: list[bytes] = []
        self.server: asyncio.Server | None = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            await self.handler(reader, writer)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def start(self, tls: ssl.SSLContext | None = None) -> str:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0, ssl=tls)
        port = self.server.sockets[0].getsockname()[1]
        return f"{'https' if tls else 'http'}://127.0.0.1:{port}/hook?x=1"

    async def stop(self) -> None:
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()


@pytest.fixture
async def serve() -> AsyncIterator[Callable[..., Awaitable[tuple[Server, str]]]]:
    started: list[Server] = []

    async def start(handler: Handler, tls: ssl.SSLContext | None = None) -> tuple[Server, str]:
        server = Server(handler)
        started.append(server)
        return server, await server.start(tls)

    yield start
    for server in started:
        await server.stop()


async def test_keeps_the_connection_alive_and_sends_what_it_should(serve) -> None:
    server: Server

    async def keep_alive(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            server.requests.append(await read_request(reader))
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nRetry-After: 7\r\n\r\nok")

    server, url = await serve(keep_alive)
    pool = Http1Pool(url, timeout=5, headers={"user-agent": "t"})
    for i in range(3):
        response = await pool.post(b'{"a":1}', {"idempotency-key": f"K{i}"})
        assert (response.status, response.body, response.headers["retry-after"]) == (200, b"ok", "7")
    await pool.aclose()
    assert server.connections == 1
    first = server.requests[0]
    assert first.startswith(b"POST /hook?x=1 HTTP/1.1\r\nhost: 127.0.0.1:")
    assert b"user-agent: t\r\n" in first and b"idempotency-key: K0\r\n" in first
    assert first.endswith(b"content-length: 7\r\n\r\n{\"a\":1}")


async def test_an_idle_connection_the_server_dropped_is_replaced_transparently(serve) -> None:
    async def answer_once_then_hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(OK)  # keep-alive by HTTP/1.1 default, then closed anyway (an idle timeout)
        await writer.drain()

    server, url = await serve(answer_once_then_hang_up)
    pool = Http1Pool(url, timeout=5)
    assert (await pool.post(b"1", {})).status == 204
    await asyncio.sleep(0.05)
    assert (await pool.post(b"2", {})).status == 204
    await pool.aclose()
    assert server.connections == 2


async def test_chunked_and_close_delimited_bodies_and_connection_close(serve) -> None:
    replies = [b"HTTP/1.1 422 Unprocessable\r\ntransfer-encoding: chunked\r\n\r\n"
               b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
               b"HTTP/1.1 503 Busy\r\nconnection: close\r\n\r\nno length, ends at close"]

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while replies:
            await read_request(reader)
            reply = replies.pop(0)
            writer.write(reply)
            if b"connection: close" in reply:
                await writer.drain()
                return

    server, url = await serve(handler)
    pool = Http1Pool(url, timeout=5)
    first = await pool.post(b"x", {})
    assert (first.status, first.text) == (422, "hello world")
    second = await pool.post(b"y", {})
    assert (second.status, second.text) == (503, "no length, ends at close")
    await pool.aclose()
    assert server.connections == 1


async def test_what_is_not_an_answer_is_an_http_error(serve, unused_tcp_port: int) -> None:
    async def garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"SSH-2.0-OpenSSH\r\n\r\n")
        await writer.drain()

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        await asyncio.sleep(5)

    async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)

    for handler, fragment in [(garbage, "not an HTTP response"), (silent, "no answer within 0.3 s"),
                              (hang_up, "closed before a response")]:
        _, url = await serve(handler)
        pool = Http1Pool(url, timeout=0.3)
        with pytest.raises(HttpError, match=fragment):
            await pool.post(b"x", {})
        await pool.aclose()
    pool = Http1Pool(f"http://127.0.0.1:{unused_tcp_port}/", timeout=1)
    with pytest.raises(HttpError, match="cannot connect"):
        await pool.post(b"x", {})


def _self_signed(tmp_path: Path) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=1))
            .not_valid_after(now + dt.timedelta(hours=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(cert_file, key_file)
    client_ctx = ssl.create_default_context(cafile=str(cert_file))
    return server_ctx, client_ctx


async def test_https_verifies_the_certificate(serve, tmp_path: Path) -> None:
    async def keep_alive(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(OK)
        await writer.drain()

    server_ctx, client_ctx = _self_signed(tmp_path)
    _, url = await serve(keep_alive, server_ctx)
    trusted = Http1Pool(url, timeout=5, ssl_context=client_ctx)
    assert (await trusted.post(b"x", {})).status == 204
    await trusted.aclose()
    untrusted = Http1Pool(url, timeout=5)  # the system trust store does not know our test CA
    with pytest.raises(HttpError, match="CERTIFICATE_VERIFY_FAILED"):
        await untrusted.post(b"x", {})


def test_header_injection_and_bad_urls_are_refused() -> None:
    with pytest.raises(ValueError, match="not an http"):
        Http1Pool("ftp://example.org/x", timeout=1)
    with pytest.raises(ValueError, match="control character"):
        Http1Pool("http://127.0.0.1/x", timeout=1, headers={"x": "a\r\nevil: 1"})
