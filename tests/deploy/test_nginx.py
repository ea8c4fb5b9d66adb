"""The example nginx site (deploy/nginx/legionary.conf) in front of a real ``legionary serve``.

Debian's nginx runs the shipped site file, changed only where a test must (host name, loopback
ports, a throwaway certificate, the gunicorn port), as a foreground process with its own prefix,
pid, logs and temporary folders. Behind it, gunicorn serves a fresh initialised instance with
production settings (HTTPS on) and the proxy settings docs/operations.md prescribes. Requests go
over real TLS to nginx, never to gunicorn directly.

Every subprocess wait and request is bounded (``BOUND``, socket timeouts); none is asserted on.
"""

from __future__ import annotations

import datetime
import http.client
import ipaddress
import os
import re
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.core.instance import (
    ServerFailed,
    free_port,
    fresh_database,
    legionary_env,
    run_legionary,
    served,
    start_from_migrated,
)
from tests.identity.files import noisy_pdf

ROOT = Path(__file__).resolve().parents[2]
SITE = ROOT / "deploy" / "nginx" / "legionary.conf"
BOUND = 60
HOST = "localhost"


def nginx_binary() -> str | None:
    return shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if os.access(p, os.X_OK)), None)


def self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    """A certificate for localhost and 127.0.0.1, made here; (certificate, key) files."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, HOST)])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName(HOST), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    key_path.chmod(0o600)
    return cert_path, key_path


def render_site(*, http_port: int, tls_port: int, upstream: str, cert: Path, key: Path) -> str:
    """The shipped site with the test's names, ports and files; fails if a replaced line moved."""
    text = SITE.read_text(encoding="utf-8")
    replacements = {
        "server_name records.example.org;": f"server_name {HOST};",
        "listen 80;": f"listen 127.0.0.1:{http_port};",
        "listen [::]:80;": "",
        "listen 443 ssl http2;": f"listen 127.0.0.1:{tls_port} ssl http2;",
        "listen [::]:443 ssl http2;": "",
        "/etc/ssl/legionary/fullchain.pem": str(cert),
        "/etc/ssl/legionary/privkey.pem": str(key),
        "server 127.0.0.1:8000;": f"server {upstream};",
    }
    for old, new in replacements.items():
        assert old in text, f"deploy/nginx/legionary.conf no longer contains {old!r}; update this test"
        text = text.replace(old, new)
    return text


def main_config(prefix: Path, site: Path) -> str:
    """The http block Debian's /etc/nginx/nginx.conf would give, with every path inside ``prefix``."""
    # As root, nginx's workers would become "nobody", who cannot enter pytest's private tmp folder.
    user = "user root root;\n" if os.geteuid() == 0 else ""
    temp = "\n".join(
        f"    {kind}_temp_path {prefix / kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return (
        f"{user}worker_processes 1;\npid {prefix / 'nginx.pid'};\nerror_log {prefix / 'error.log'} warn;\n"
        "events { worker_connections 128; }\n"
        "http {\n"
        f"    access_log {prefix / 'access.log'};\n{temp}\n"
        "    types { text/html html; }\n    default_type application/octet-stream;\n"
        f"    include {site};\n"
        "}\n"
    )


@dataclass
class Proxy:
    nginx: str
    prefix: Path
    config: Path
    http_port: int
    tls_port: int
    tls: ssl.SSLContext
    env: dict[str, str]

    def https(self) -> http.client.HTTPSConnection:
        return http.client.HTTPSConnection(HOST, self.tls_port, context=self.tls, timeout=BOUND)

    @property
    def origin(self) -> str:
        return f"https://{HOST}:{self.tls_port}"


def _wait_for_port(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + BOUND
    while True:
        if process.poll() is not None:
            raise AssertionError(f"nginx exited with {process.returncode}:\n{log.read_text(errors='replace')}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise AssertionError(f"nginx did not listen on {port}:\n{log.read_text(errors='replace')}") from None
            time.sleep(0.05)


@pytest.fixture(scope="module")
def proxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proxy]:
    nginx = nginx_binary()
    if nginx is None:
        pytest.skip("nginx is not installed; `make system-deps` installs Debian's nginx")
    root = tmp_path_factory.mktemp("deploy")
    prefix = root / "nginx"
    prefix.mkdir()
    http_port, tls_port = free_port(), free_port()
    cert, key = self_signed_certificate(root)
    with fresh_database(migrated=True) as database_url:
        env = legionary_env(
            root / "home",
            database_url,
            LEGIONARY_BEHIND_PROXY="1",
            LEGIONARY_PROXY_COUNT="1",
            # 127.0.0.1 for the readiness probe `served` sends to gunicorn itself.
            LEGIONARY_ALLOWED_HOSTS=f"{HOST},127.0.0.1",
            # nginx passes $host, which has no port; a browser's Origin here has the test port.
            LEGIONARY_CSRF_TRUSTED_ORIGINS=f"https://{HOST}:{tls_port}",
        )
        start_from_migrated(env)
        initialised = run_legionary(env, "init")
        assert initialised.returncode == 0, initialised.stderr
        try:
            with served(env, root / "serve.log") as server:
                upstream = server.base_url.removeprefix("http://")
                site = root / "legionary.conf"
                site.write_text(
                    render_site(http_port=http_port, tls_port=tls_port, upstream=upstream, cert=cert, key=key),
                    encoding="utf-8",
                )
                config = root / "nginx.conf"
                config.write_text(main_config(prefix, site), encoding="utf-8")
                error_log = prefix / "error.log"
                tested = subprocess.run(
                    [nginx, "-t", "-p", str(prefix), "-c", str(config), "-e", str(error_log)],
                    capture_output=True,
                    text=True,
                    timeout=BOUND,
                    check=False,
                )
                assert tested.returncode == 0, tested.stderr
                process = subprocess.Popen(
                    [nginx, "-p", str(prefix), "-c", str(config), "-e", str(error_log), "-g", "daemon off;"],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    start_new_session=True,
                )
                try:
                    _wait_for_port(tls_port, process, error_log)
                    _wait_for_port(http_port, process, error_log)
                    tls = ssl.create_default_context(cafile=str(cert))
                    yield Proxy(nginx, prefix, config, http_port, tls_port, tls, env)
                finally:
                    process.send_signal(signal.SIGQUIT)  # graceful stop
                    try:
                        process.wait(timeout=BOUND)
                    except subprocess.TimeoutExpired:
                        process.kill()
                        process.wait(timeout=BOUND)
        except ServerFailed as exc:
            pytest.fail(str(exc))
        finally:
            shutil.rmtree(root / "home", ignore_errors=True)


def _get(proxy: Proxy, path: str, headers: dict[str, str] | None = None) -> tuple[int, bytes, http.client.HTTPMessage]:
    conn = proxy.https()
    try:
        conn.request("GET", path, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.read(), response.headers
    finally:
        conn.close()


def _csrf(headers: http.client.HTTPMessage, page: bytes) -> tuple[str, str]:
    """The CSRF cookie (name=value) the answer set and the form token on its page."""
    cookies = [c.split(";")[0] for c in headers.get_all("Set-Cookie") or [] if "-csrf=" in c]
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert cookies and token is not None
    return cookies[0], token.group(1).decode()


def _multipart(fields: dict[str, str], files: dict[str, tuple[str, bytes]]) -> tuple[bytes, str]:
    boundary = "----legionary" + secrets.token_hex(8)
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    ]
    for name, (filename, content) in files.items():
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
            "Content-Type: application/pdf\r\n\r\n"
        )
        parts.append(head.encode() + content + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def _declared_body(proxy: Proxy, path: str, length: int) -> tuple[int, bytes, http.client.HTTPMessage]:
    """Sends only the headers of a POST that declares ``length`` bytes and reads the answer."""
    conn = proxy.https()
    try:
        conn.putrequest("POST", path)
        conn.putheader("Content-Type", "application/octet-stream")
        conn.putheader("Content-Length", str(length))
        conn.endheaders()
        response = conn.getresponse()
        return response.status, response.read(), response.headers
    finally:
        conn.close()


def test_the_site_file_passes_nginx_own_configuration_test(proxy: Proxy) -> None:
    tested = subprocess.run(
        [proxy.nginx, "-t", "-p", str(proxy.prefix), "-c", str(proxy.config), "-e", str(proxy.prefix / "error.log")],
        capture_output=True,
        text=True,
        timeout=BOUND,
        check=False,
    )
    assert tested.returncode == 0, tested.stderr
    # nginx 1.25+ (Debian 13) deprecates "listen ... http2" in favour of "http2 on", which Debian
    # 12's 1.22 does not know yet; any other warning fails.
    warnings = [line for line in tested.stderr.splitlines() if "[warn]" in line and "http2" not in line]
    assert warnings == [], tested.stderr


def test_health_check_and_sign_in_page_come_through_nginx_over_tls(proxy: Proxy) -> None:
    status, body, _headers = _get(proxy, "/healthz")
    assert (status, body.strip()) == (200, b"ok")

    status, page, headers = _get(proxy, "/login/")
    assert status == 200
    assert b'name="password"' in page
    # nginx answers under its own name without a version; the application's security headers
    # arrive once each (the site adds none of its own).
    assert headers["Server"] == "nginx"
    for name in ("Strict-Transport-Security", "Content-Security-Policy", "X-Frame-Options"):
        assert len(headers.get_all(name) or []) == 1, name


def test_the_application_sees_the_proxied_request_as_https(proxy: Proxy) -> None:
    # With HTTPS required, a request the application took for plain HTTP would be redirected to
    # https:// again and again; here it is served, with secure host-only cookies.
    status, _page, headers = _get(proxy, "/login/")
    assert status == 200
    cookies = headers.get_all("Set-Cookie") or []
    csrf = [c for c in cookies if c.startswith("__Host-legionary-csrf=")]
    assert csrf, cookies
    assert "Secure" in csrf[0]


def test_a_csrf_protected_application_with_a_scan_goes_through_nginx(proxy: Proxy) -> None:
    _status, page, headers = _get(proxy, "/apply/")
    cookie, token = _csrf(headers, page)
    fields = {
        "legion": "geo",
        "given_names": "Quirinus",
        "family_name": "Zhgentiklashvili",
        "date_of_birth": "1988-11-02",
        "citizenships": "GE",
        "consent": "on",
        "csrfmiddlewaretoken": token,
    }
    # Larger than the 4 MiB every other path accepts: only the form's own location lets it through.
    scan = noisy_pdf(5 * 1024 * 1024)  # a real PDF: uploads are decoded in full on arrival
    body, content_type = _multipart(fields, {"upload_1": ("scan.pdf", scan)})
    conn = proxy.https()
    try:
        conn.request(
            "POST",
            "/apply/",
            body=body,
            headers={
                "Content-Type": content_type,
                "Cookie": cookie,
                "Origin": proxy.origin,
                "Referer": proxy.origin + "/apply/",
            },
        )
        response = conn.getresponse()
        answer = response.read()
    finally:
        conn.close()
    # 303: sent, and on to the page with the receipt (post/redirect/get).
    assert response.status == 303 and response.getheader("Location") == "/apply/sent/?lang=en", answer[:600]
    # The form's last page, where a browser attaches the scans, takes the same size through nginx
    # (without a draft it answers with the confirmation page's address, but it is not refused).
    conn = proxy.https()
    try:
        conn.request(
            "POST",
            "/apply/check/",
            body=body,
            headers={
                "Content-Type": content_type,
                "Cookie": cookie,
                "Origin": proxy.origin,
                "Referer": proxy.origin + "/apply/check/",
            },
        )
        response = conn.getresponse()
        answer = response.read()
    finally:
        conn.close()
    assert response.status == 303, answer[:600]


def test_a_post_without_the_csrf_token_is_still_refused_behind_nginx(proxy: Proxy) -> None:
    conn = proxy.https()
    try:
        conn.request(
            "POST",
            "/status/",
            body="receipt=nothing",
            headers={"Content-Type": "application/x-www-form-urlencoded", "Origin": proxy.origin},
        )
        response = conn.getresponse()
        response.read()
    finally:
        conn.close()
    assert response.status == 403


@pytest.mark.parametrize(
    ("path", "declared"),
    [
        ("/api/v1/applications", 5 * 1024 * 1024),  # over the site's 4 MiB
        ("/login/", 5 * 1024 * 1024),
        ("/apply/", 65 * 1024 * 1024),  # over the form's 64 MiB (the application's own limit is 61 MiB)
    ],
)
def test_an_oversized_body_is_refused_by_nginx_with_413(proxy: Proxy, path: str, declared: int) -> None:
    status, body, headers = _declared_body(proxy, path, declared)
    assert status == 413
    # nginx's own answer (the application's 413 page is its own template), without a version.
    assert headers["Server"] == "nginx"
    assert b"<center>nginx</center>" in body


def test_plain_http_is_redirected_to_https(proxy: Proxy) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", proxy.http_port, timeout=BOUND)
    try:
        conn.request("GET", "/login/?next=/cases/", headers={"Host": HOST})
        response = conn.getresponse()
        response.read()
    finally:
        conn.close()
    assert response.status == 301
    assert response.headers["Location"] == f"https://{HOST}/login/?next=/cases/"


def test_the_client_address_is_passed_on_and_cannot_be_forged(proxy: Proxy) -> None:
    # nginx replaces a forged X-Forwarded-For: the lockout counts the failure against the address
    # the connection really came from.
    _status, page, headers = _get(proxy, "/login/")
    cookie, token = _csrf(headers, page)
    username = f"nobody-{secrets.token_hex(4)}"
    conn = proxy.https()
    try:
        conn.request(
            "POST",
            "/login/",
            body=f"username={username}&password=wrong-password-123&code=&csrfmiddlewaretoken={token}",
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "Cookie": cookie,
                "Origin": proxy.origin,
                "X-Forwarded-For": "203.0.113.99",
            },
        )
        response = conn.getresponse()
        page = response.read()
    finally:
        conn.close()
    assert response.status == 200
    assert b"Sign-in failed" in page
    listed = run_legionary(proxy.env, "staff", "attempts")
    assert listed.returncode == 0, listed.stderr
    attempts = [line.split("\t") for line in listed.stdout.splitlines() if username in line]
    assert [a[0] for a in attempts] == ["127.0.0.1"], listed.stdout
