"""Real reverse proxies (nginx, Caddy from the distribution's packages) in front of a backend: the
mock in the tests, a real Flowise in the reference matrix (`matrix.py`).

Each proxy gets a throw-away CA and server certificate (trustme), a config written into its own
temporary folder, TLS with HTTP/2 to the client on a free loopback port, and the settings the
proxy's documentation recommends for server-sent events. A `variant` breaks it on purpose the way
deployments get broken (buffered streams, `Authorization` dropped, a small body cap, Flowise's JSON
errors replaced by HTML pages). The proxy runs as its own process group, is stopped by its pid,
and its folder is removed. `skip_reason` says why a proxy cannot run here (binary not installed).
"""

from __future__ import annotations

import os
import shutil
import ssl
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from contract.process import LOOPBACK, ManagedProcess, ServerError, free_port

__all__ = ["PROXIES", "VARIANTS", "Certificates", "Proxy", "make_certificates", "skip_reason", "start_proxy"]

PROXIES = ("nginx", "caddy")
VARIANTS = ("good", "buffered-sse", "strip-authorization", "small-body", "html-errors")
_BINARIES = {"nginx": ("nginx", "/usr/sbin/nginx"), "caddy": ("caddy", "/usr/bin/caddy")}


def binary(kind: str) -> str | None:
    name, usual = _BINARIES[kind]
    return shutil.which(name) or (usual if os.access(usual, os.X_OK) else None)


def skip_reason(kind: str) -> str | None:
    if binary(kind) is None:
        return f"{kind} is not installed (apt-get install -y {'nginx-light' if kind == 'nginx' else 'caddy'})"
    return None


@dataclass(frozen=True)
class Certificates:
    ca: Path
    cert: Path
    key: Path


def make_certificates(folder: Path) -> Certificates:
    """A private CA and a certificate for 127.0.0.1 / localhost it signed (PEM files in `folder`)."""
    try:
        import trustme
    except ImportError as exc:
        raise ServerError("trustme makes the proxies' throw-away certificates: pip install 'trustme>=1.1' "
                          "(it comes with the dev extra)") from exc

    ca = trustme.CA()
    server = ca.issue_cert("127.0.0.1", "localhost")
    paths = Certificates(ca=folder / "ca.pem", cert=folder / "server-chain.pem", key=folder / "server-key.pem")
    ca.cert_pem.write_to_path(str(paths.ca))
    server.private_key_pem.write_to_path(str(paths.key))
    with paths.cert.open("wb") as chain:
        for blob in server.cert_chain_pems:
            chain.write(blob.bytes())
    return paths


# -- nginx ------------------------------------------------------------------------------------------

_NGINX_SSE = """
            # nginx's guidance for event streams: HTTP/1.1 upstream, no Connection: close, no buffering
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_buffering off;
            proxy_cache off;
            proxy_read_timeout 1h;
"""
_NGINX_BUFFERED = """
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            # broken on purpose: buffer whole answers, whatever X-Accel-Buffering says
            proxy_ignore_headers X-Accel-Buffering;
            proxy_buffering on;
            proxy_buffer_size 256k;
            proxy_buffers 64 256k;
            proxy_busy_buffers_size 512k;
            gzip on;
            gzip_types text/event-stream application/json;
            gzip_min_length 0;
"""


def _nginx_conf(folder: Path, port: int, backend: str, certs: Certificates, variant: str, prefix: str) -> str:
    streaming = _NGINX_BUFFERED if variant == "buffered-sse" else _NGINX_SSE
    body = "100k" if variant == "small-body" else "64m"
    extra = ""
    if variant == "strip-authorization":
        extra += '            proxy_set_header Authorization "";\n'
    if variant == "html-errors":
        extra += "            proxy_intercept_errors on;\n            error_page 400 401 403 404 500 502 503 504 /error.html;\n"
    user = "user root root;\n" if os.geteuid() == 0 else ""
    location = prefix.rstrip("/") + "/" if prefix else "/"
    upstream = backend.rstrip("/") + "/"
    return f"""{user}worker_processes 1;
pid {folder}/nginx.pid;
error_log {folder}/error.log warn;
daemon off;
events {{ worker_connections 256; }}
http {{
    access_log {folder}/access.log;
    client_body_temp_path {folder}/client_body;
    proxy_temp_path {folder}/proxy;
    fastcgi_temp_path {folder}/fastcgi;
    uwsgi_temp_path {folder}/uwsgi;
    scgi_temp_path {folder}/scgi;
    server {{
        listen {LOOPBACK}:{port} ssl http2;
        server_name localhost;
        ssl_certificate {certs.cert};
        ssl_certificate_key {certs.key};
        client_max_body_size {body};
        location = /error.html {{
            internal;
            default_type text/html;
            return 200 "<html><body><h1>Something went wrong</h1></body></html>";
        }}
        location {location} {{
            proxy_pass {upstream};
            # $http_host, not $host: the port too. Flowise's Execute Flow calls the other flow back
            # through the address the client used (docs/deployment.md#flowise-calls-itself).
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
{streaming}{extra}        }}
    }}
}}
"""


# -- Caddy ------------------------------------------------------------------------------------------


def _caddyfile(port: int, backend: str, certs: Certificates, variant: str, prefix: str) -> str:
    # Caddy's guidance for streams; Caddy 2.6 flushes text/event-stream at once whatever flush_interval
    # says, so it has no buffered-sse variant (nginx shows that one).
    options = ["flush_interval -1"]
    if variant == "buffered-sse":
        raise ValueError("Caddy cannot be made to buffer an event stream by configuration")
    if variant == "strip-authorization":
        options.append("header_up -Authorization")
    if variant == "html-errors":
        options.append("@error status 4xx 5xx")
        options.append('handle_response @error {\n\t\t\theader Content-Type text/html\n\t\t\trespond "<html><body><h1>Something went wrong</h1></body></html>" {rp.status_code}\n\t\t}')
    body = "\n\trequest_body {\n\t\tmax_size 100KB\n\t}" if variant == "small-body" else ""
    target = backend.removeprefix("http://")
    proxy = "reverse_proxy " + target + " {\n\t\t" + "\n\t\t".join(options) + "\n\t}"
    route = f"handle_path {prefix.rstrip('/')}/* {{\n\t{proxy}\n\t}}" if prefix else proxy
    return f"""{{
    admin off
    auto_https off
    servers {{
        protocols h1 h2
    }}
}}
https://{LOOPBACK}:{port}, https://localhost:{port} {{
    tls {certs.cert} {certs.key}{body}
    {route}
}}
"""


# -- running ---------------------------------------------------------------------------------------


@dataclass
class Proxy:
    kind: str
    variant: str
    url: str
    ca: Path
    process: ManagedProcess
    folder: Path
    config: Path
    extra: dict[str, str] = field(default_factory=dict)

    def stop(self) -> None:
        self.process.stop(grace=5.0)  # by pid (its own process group), then the folder is removed


def _wait_tls(process: ManagedProcess, url: str, ca: Path, timeout: float = 20.0) -> None:
    context = ssl.create_default_context(cafile=str(ca))
    deadline = time.monotonic() + timeout
    with httpx.Client(verify=context, timeout=3.0) as client:
        while time.monotonic() < deadline:
            if not process.running():
                raise ServerError(f"{process.name} exited before it was ready:\n{process.log_tail(40)}")
            try:
                client.get(url + "/api/v1/ping")
                return
            except httpx.TransportError:
                time.sleep(0.1)
    raise ServerError(f"{process.name} not ready after {timeout:.0f}s:\n{process.log_tail(40)}")


def start_proxy(kind: str, backend: str, *, variant: str = "good", prefix: str = "") -> Proxy:
    """Start `kind` (nginx or caddy) on a free loopback port in front of `backend` (an http URL)."""
    executable = binary(kind)
    if executable is None:
        raise ServerError(skip_reason(kind) or kind)
    folder = Path(tempfile.mkdtemp(prefix=f"flowise-proxy-{kind}-"))
    os.chmod(folder, 0o755)
    certs = make_certificates(folder)
    port = free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith(("MOCK_", "FLOWISE_"))}
    if kind == "nginx":
        config = folder / "nginx.conf"
        config.write_text(_nginx_conf(folder, port, backend, certs, variant, prefix))
        argv = [executable, "-p", str(folder), "-c", str(config), "-e", str(folder / "error.log")]
    else:
        config = folder / "Caddyfile"
        config.write_text(_caddyfile(port, backend, certs, variant, prefix))
        env.update({"HOME": str(folder), "XDG_DATA_HOME": str(folder / "data"), "XDG_CONFIG_HOME": str(folder / "config")})
        argv = [executable, "run", "--config", str(config), "--adapter", "caddyfile"]
    process = ManagedProcess(name=kind, argv=argv, url=f"https://{LOOPBACK}:{port}", log_path=folder / "proxy.log",
                             env=env, cwd=folder, owned_dirs=[folder])
    process.start()
    url = f"https://{LOOPBACK}:{port}{prefix.rstrip('/')}"
    try:
        _wait_tls(process, url, certs.ca)
    except BaseException:
        process.stop(grace=5.0)
        raise
    return Proxy(kind=kind, variant=variant, url=url, ca=certs.ca, process=process, folder=folder, config=config)
