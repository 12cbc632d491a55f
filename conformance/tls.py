"""How the suite trusts a `https://` target: one decision, applied the same way by both layers.

Production Flowise speaks TLS, often with a certificate from a private CA. The trust anchors come
from, highest first: `--ca-bundle FILE` (or `FLOWISE_CA_BUNDLE`), then the usual `SSL_CERT_FILE` and
`REQUESTS_CA_BUNDLE`; without any, the default store (certifi's, as both httpx and requests use).
A bundle replaces the default store rather than adding to it, in both layers, so a certificate the
semantic client accepts is one schemathesis accepts too. `--insecure` turns verification off in
both layers and says so loudly: on the console, in the report notes, and as a deployment warning.
"""

from __future__ import annotations

import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from conformance.errors import ConfigError

__all__ = ["INSECURE_WARNING", "TlsSettings", "resolve_tls"]

#: Environment variables naming a CA bundle, highest precedence first (after the flag).
CA_ENV = ("FLOWISE_CA_BUNDLE", "SSL_CERT_FILE", "REQUESTS_CA_BUNDLE")
INSECURE_WARNING = (
    "WARNING: --insecure: TLS certificates are NOT verified. Anyone between this machine and the target "
    "can read the API key and change every answer; the verdict says nothing about the target's certificate. "
    "Use --ca-bundle FILE for a private CA instead."
)


@dataclass(frozen=True, slots=True)
class TlsSettings:
    """Where trust comes from: a CA bundle, the default store, or nowhere (`insecure`)."""

    ca_bundle: Path | None = None
    insecure: bool = False
    #: What chose the bundle: "--ca-bundle", an environment variable's name, or "default".
    source: str = "default"

    def httpx_verify(self) -> ssl.SSLContext | bool:
        """`verify=` for httpx: a context holding only the bundle, False when insecure, else True."""
        if self.insecure:
            return False
        if self.ca_bundle is not None:
            return ssl.create_default_context(cafile=str(self.ca_bundle))
        return True

    def requests_verify(self) -> bool | str:
        """schemathesis' `tls-verify` (requests' `verify=`): the bundle's path, False, or True."""
        if self.insecure:
            return False
        if self.ca_bundle is not None:
            return str(self.ca_bundle)
        return True

    def describe(self) -> str:
        if self.insecure:
            return "certificates NOT verified (--insecure)"
        if self.ca_bundle is not None:
            return f"verified against {self.ca_bundle} ({self.source})"
        return "verified against the default trust store"


def _bundle(path: str, *, where: str) -> Path:
    bundle = Path(path).expanduser()
    if not bundle.is_file():
        raise ConfigError(f"{where}: no such CA bundle file: {path}")
    try:
        ssl.create_default_context(cafile=str(bundle))
    except (ssl.SSLError, OSError, ValueError) as exc:
        raise ConfigError(f"{where}: {path} holds no usable PEM certificate: {exc}") from None
    return bundle


def resolve_tls(ca_bundle: object, insecure: object, env: Mapping[str, str]) -> TlsSettings:
    """The run's TLS settings from the flags (`ca_bundle`, `insecure`) and the environment."""
    from conformance.profile import _flag  # the profile's boolean syntax, one definition

    insecure_on = _flag(insecure if insecure not in (None, "") else env.get("FLOWISE_INSECURE", "") or False,
                        name="insecure")
    if ca_bundle and insecure is True:
        raise ConfigError("--ca-bundle and --insecure contradict each other: give one")
    if ca_bundle:  # a flag wins over FLOWISE_INSECURE
        return TlsSettings(ca_bundle=_bundle(str(ca_bundle), where="--ca-bundle"), source="--ca-bundle")
    if insecure_on:
        return TlsSettings(insecure=True, source="--insecure" if insecure is True else "FLOWISE_INSECURE")
    for name in CA_ENV:
        if env.get(name):
            return TlsSettings(ca_bundle=_bundle(env[name], where=name), source=name)
    return TlsSettings()
