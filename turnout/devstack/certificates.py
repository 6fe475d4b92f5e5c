"""A throw-away certificate authority and the stack's server certificate, made with `openssl`.

The authority signs one certificate, the servers' (ZooKeeper and Kafka share it), and its
private key is deleted right after: nothing can issue another certificate the clients
would trust. Clients trust the authority's certificate (a PEM file); the servers read
their key and certificate from a PKCS#12 keystore, which both JVMs load natively.

Passwords reach `openssl` through its environment (``env:``), never its command line,
where any user's ``ps`` would show them.
"""

from __future__ import annotations

import ipaddress
import os
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

from turnout.devstack.errors import StackError

#: Every openssl call here generates one EC key or signs one certificate: milliseconds.
#: A call that hangs (a prompt waiting on stdin) must fail, not hang `turnout dev up`.
OPENSSL_TIMEOUT_S = 30.0
#: A throw-away stack lives for days; a certificate that outlives it by far costs nothing
#: and spares a long-lived demo from an expired-certificate failure.
VALIDITY_DAYS = 365
_PASSWORD_VARIABLE = "TURNOUT_DEVSTACK_KEYSTORE_PASSWORD"


def _openssl(arguments: Sequence[str], *, password: str | None = None) -> None:
    openssl = shutil.which("openssl")
    if openssl is None:
        raise StackError(
            "openssl is not on PATH; the secured stack makes its certificates with it "
            "(Debian: apt-get install openssl)"
        )
    environment = dict(os.environ)
    if password is not None:
        environment[_PASSWORD_VARIABLE] = password
    try:
        result = subprocess.run(
            [openssl, *arguments],
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            env=environment,
            timeout=OPENSSL_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise StackError(
            f"openssl {arguments[0]} took longer than {OPENSSL_TIMEOUT_S:.0f} s"
        ) from exc
    if result.returncode != 0:
        raise StackError(
            f"openssl {arguments[0]} failed (exit code {result.returncode})", result.stderr.strip()
        )


def _new_key(path: Path) -> None:
    _openssl(
        ["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", str(path)]
    )
    path.chmod(0o600)


def issue_server_certificate(
    directory: Path, hosts: Sequence[str], keystore_password: str
) -> tuple[Path, Path]:
    """Make an authority, let it sign a certificate for ``hosts`` (IP addresses or DNS
    names), and return (the authority's certificate, the servers' PKCS#12 keystore)."""
    ca_key = directory / "ca.key"
    ca_cert = directory / "ca.pem"
    server_key = directory / "server.key"
    request = directory / "server.csr"
    server_cert = directory / "server.pem"
    extensions = directory / "server.ext"
    keystore = directory / "server.p12"
    _new_key(ca_key)
    _openssl(
        [
            "req",
            "-x509",
            "-new",
            "-key",
            str(ca_key),
            "-out",
            str(ca_cert),
            "-days",
            str(VALIDITY_DAYS),
            "-subj",
            "/CN=turnout dev stack throw-away CA",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ]
    )
    _new_key(server_key)
    _openssl(
        ["req", "-new", "-key", str(server_key), "-out", str(request), "-subj", "/CN=localhost"]
    )
    names = [f"IP:{h}" if _is_ip(h) else f"DNS:{h}" for h in dict.fromkeys(hosts)]
    # clientAuth too: the broker presents this certificate to its own controller listener.
    extensions.write_text(
        f"subjectAltName={','.join(names)}\n"
        "basicConstraints=critical,CA:FALSE\n"
        "keyUsage=critical,digitalSignature,keyEncipherment\n"
        "extendedKeyUsage=serverAuth,clientAuth\n"
    )
    _openssl(
        [
            "x509",
            "-req",
            "-in",
            str(request),
            "-CA",
            str(ca_cert),
            "-CAkey",
            str(ca_key),
            "-CAcreateserial",
            "-out",
            str(server_cert),
            "-days",
            str(VALIDITY_DAYS),
            "-extfile",
            str(extensions),
        ]
    )
    _openssl(
        [
            "pkcs12",
            "-export",
            "-in",
            str(server_cert),
            "-inkey",
            str(server_key),
            "-certfile",
            str(ca_cert),
            "-name",
            "server",
            "-out",
            str(keystore),
            "-passout",
            f"env:{_PASSWORD_VARIABLE}",
        ],
        password=keystore_password,
    )
    keystore.chmod(0o600)
    # Throw-away: without the authority's key no one can issue another trusted certificate.
    for leftover in (ca_key, server_key, request, extensions, directory / "ca.srl"):
        leftover.unlink(missing_ok=True)
    return ca_cert, keystore


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True
