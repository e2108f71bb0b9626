"""Faults created for real on this machine: a nearly full filesystem, a CPU spinner, closed
ports, failing HTTP and TLS servers, a process near its open-files limit."""

from __future__ import annotations

import contextlib
import datetime
import http.server
import os
import shutil
import socket
import ssl
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


@contextlib.contextmanager
def small_filesystem(
    directory: Path, size_mb: int = 16, inodes: int | None = None
) -> Iterator[Path]:
    """A real ext4 filesystem in a file, loop-mounted (needs root; skipped otherwise)."""
    if os.geteuid() != 0 or not shutil.which("mkfs.ext4") or not shutil.which("mount"):
        pytest.skip("a loop-mounted filesystem needs root, mkfs.ext4 and mount")
    image, mountpoint = directory / "fs.img", directory / "mnt"
    mountpoint.mkdir()
    with image.open("wb") as f:
        f.truncate(size_mb * 1024 * 1024)
    mkfs = ["mkfs.ext4", "-q", "-F", "-m", "0"] + (["-N", str(inodes)] if inodes else [])
    subprocess.run([*mkfs, str(image)], check=True, capture_output=True)
    mounted = subprocess.run(
        ["mount", "-o", "loop", str(image), str(mountpoint)], capture_output=True, check=False
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot loop-mount here: {mounted.stderr.decode().strip()}")
    try:
        yield mountpoint
    finally:
        subprocess.run(["umount", "-l", str(mountpoint)], capture_output=True, check=False)


def fill_to(mountpoint: Path, percent: float, directory: str = "var/log/app") -> Path:
    """Write 512 KiB files under ``directory`` until the filesystem is ``percent`` full."""
    target = mountpoint / directory
    target.mkdir(parents=True, exist_ok=True)
    chunk = os.urandom(512 * 1024)
    n = 0
    while psutil.disk_usage(str(mountpoint)).percent < percent:
        (target / f"app-{n}.log").write_bytes(chunk)
        n += 1
    os.sync()
    return target


def use_all_inodes(mountpoint: Path) -> int:
    target = mountpoint / "spool"
    target.mkdir()
    n = 0
    with contextlib.suppress(OSError):
        while True:
            (target / f"f{n}").touch()
            n += 1
    return n


@contextlib.contextmanager
def cpu_spinner() -> Iterator[int]:
    process = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        psutil.Process(process.pid).cpu_percent(None)
        yield process.pid
    finally:
        process.kill()
        process.wait()


@contextlib.contextmanager
def fd_hog(count: int = 1000, limit: int = 1024) -> Iterator[int]:
    """A process with ``count`` files open under a soft limit of ``limit``."""
    code = (
        "import os, resource, sys, time\n"
        f"resource.setrlimit(resource.RLIMIT_NOFILE, ({limit}, {limit}))\n"
        f"fds = [os.open(os.devnull, os.O_RDONLY) for _ in range({count})]\n"
        "print('ready', flush=True)\n"
        "time.sleep(600)\n"
    )
    process = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE)
    try:
        assert process.stdout is not None and process.stdout.readline().strip() == b"ready"
        yield process.pid
    finally:
        process.kill()
        process.wait()
        if process.stdout is not None:
            process.stdout.close()


@contextlib.contextmanager
def tcp_listener() -> Iterator[int]:
    server = socket.create_server(("127.0.0.1", 0))
    try:
        yield server.getsockname()[1]
    finally:
        server.close()


def closed_port() -> int:
    """A port nothing listens on (just released by this process)."""
    with socket.create_server(("127.0.0.1", 0)) as s:
        return int(s.getsockname()[1])


class _Failing(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"upstream database connection pool exhausted"
        self.send_response(500)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@contextlib.contextmanager
def http_500_server() -> Iterator[int]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Failing)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def _expiring_cert(directory: Path, days: float) -> tuple[str, str]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "shop.example.test")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=80))
        .not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("shop.example.test")]), False)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "cert.pem", directory / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return str(cert_file), str(key_file)


@contextlib.contextmanager
def tls_server(directory: Path, days: float) -> Iterator[int]:
    """A TLS server on 127.0.0.1 presenting a self-signed certificate valid ``days`` more
    days (negative: expired), completing handshakes until closed."""
    cert_file, key_file = _expiring_cert(directory, days)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    server = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                raw, _ = server.accept()
            except OSError:
                return
            with contextlib.suppress(OSError), raw:
                raw.settimeout(5)
                with context.wrap_socket(raw, server_side=True) as tls:
                    tls.recv(1)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield server.getsockname()[1]
    finally:
        stop.set()
        server.close()
