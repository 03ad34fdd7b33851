"""The emulated AWS: a moto server on a free loopback port, inside this process.

In-process (rather than `moto_server` in a subprocess) so that the moto workarounds and the Glue
job-run hook apply to the server that runs the state machines.

With `tls=True` the same backends are also served over HTTPS, with a certificate made for this
run (`ca_bundle`): that is the endpoint every client then uses, Terraform's AWS provider
included, as on AWS, where the buckets' policies deny plain HTTP. The plain HTTP listener stays
for moto's state machine interpreter, whose clients always call `http://localhost:$MOTO_PORT`.
"""

from __future__ import annotations

import datetime
import ipaddress
import json
import logging
import os
import socket
import ssl
import tempfile
import threading
import urllib.request
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from moto.server import ThreadedMotoServer
from werkzeug.serving import BaseWSGIServer, make_server

from ndjson_parquet.cli.aws import EMULATOR_CREDENTIALS, EMULATOR_REGION
from ndjson_parquet.cli.emulator import moto_fixes, s3_notifications
from ndjson_parquet.cli.errors import UsageError

GlueRunner = Callable[[str, str, dict[str, str]], Any]
LambdaRunner = Callable[[str, dict[str, Any]], Any]
"""`runner(job_name, run_id, arguments)`: return for SUCCEEDED, raise for FAILED."""


class Emulator:
    """Start/stop moto on loopback, with state machine execution on and Glue runs dispatched.

    Several deployments (environments) may share one emulator; each registers the runner of
    its own Glue job with `register_glue_job`.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        region: str = EMULATOR_REGION,
        tls: bool = False,
    ) -> None:
        self.host = host
        self.region = region
        self.tls = tls
        self._requested_port = port
        self._server: ThreadedMotoServer | None = None
        self._port = 0
        self._tls_server: _TlsServer | None = None
        self._certificate_dir: tempfile.TemporaryDirectory[str] | None = None
        self._saved_env: dict[str, str | None] = {}
        self._saved_sfn_config: Any = None
        self._runners: dict[str, GlueRunner] = {}
        self._functions: dict[str, LambdaRunner] = {}
        self._lock = threading.Lock()

    @property
    def endpoint_url(self) -> str:
        """Where clients go: the HTTPS listener with `tls=True`, else the plain one."""
        if self._tls_server:
            return f"https://{self.host}:{self._tls_server.port}"
        return self._http_url

    @property
    def _http_url(self) -> str:
        if not self._server:
            raise RuntimeError("the emulator is not running")
        return f"http://{self.host}:{self._port}"

    @property
    def ca_bundle(self) -> Path | None:
        """PEM file of the HTTPS listener's certificate (None without TLS)."""
        return self._tls_server.certificate if self._tls_server else None

    @property
    def port(self) -> int:
        return self._port

    def start(self) -> Emulator:
        # werkzeug logs every request to stderr; that would drown the progress display.
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        moto_fixes.apply()
        s3_notifications.apply()
        if self._requested_port:
            _check_free(self.host, self._requested_port)
        server = ThreadedMotoServer(ip_address=self.host, port=self._requested_port, verbose=False)
        server.start()
        self._server = server
        self._port = server.get_host_and_port()[1]
        if self.tls:
            self._certificate_dir = tempfile.TemporaryDirectory(prefix="ndjson-parquet-tls-")
            self._tls_server = _TlsServer(self.host, Path(self._certificate_dir.name))
            self._set_env({"AWS_CA_BUNDLE": str(self._tls_server.certificate)})
        # moto's state machine interpreter builds its own boto3 clients for
        # `http://localhost:$MOTO_PORT`; credentials and region make every other client in
        # this process (handlers, converter) reach the emulator, never an account.
        self._set_env(
            {
                **EMULATOR_CREDENTIALS,
                "MOTO_PORT": str(self._port),
                "AWS_ENDPOINT_URL": self.endpoint_url,
                "AWS_DEFAULT_REGION": self.region,
                "AWS_REGION": self.region,
            }
        )
        # A profile can bring its own region, endpoints or credential process into the clients.
        self._saved_env.setdefault("AWS_PROFILE", os.environ.get("AWS_PROFILE"))
        os.environ.pop("AWS_PROFILE", None)
        _forget_cached_clients()
        # moto's backends are process-wide: start from an empty account, as a fresh server would.
        self._post("/moto-api/reset", {})
        self._enable_state_machine_execution()
        moto_fixes.set_glue_job_runner(self._run_glue_job)
        moto_fixes.set_lambda_function_runner(self._run_lambda_function)
        return self

    def stop(self) -> None:
        moto_fixes.set_glue_job_runner(None)
        if self._tls_server:
            self._tls_server.stop()
            self._tls_server = None
        if self._certificate_dir:
            self._certificate_dir.cleanup()
            self._certificate_dir = None
        moto_fixes.set_lambda_function_runner(None)
        if self._server:
            self._server.stop()
            self._server = None
        self._restore_sfn_config()
        for name, value in self._saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        self._saved_env.clear()
        _forget_cached_clients()

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def register_glue_job(self, job_name: str, runner: GlueRunner) -> None:
        """Make every run of `job_name` execute `runner`."""
        with self._lock:
            self._runners[job_name] = runner

    def unregister_glue_job(self, job_name: str) -> None:
        with self._lock:
            self._runners.pop(job_name, None)

    def register_lambda_function(self, function_name: str, runner: LambdaRunner) -> None:
        """Make every invocation of `function_name` call `runner(function_name, event)`."""
        with self._lock:
            self._functions[function_name] = runner

    def unregister_lambda_function(self, function_name: str) -> None:
        with self._lock:
            self._functions.pop(function_name, None)

    def _run_lambda_function(self, function_name: str, event: dict[str, Any]) -> Any:
        with self._lock:
            runner = self._functions.get(function_name)
        if runner is None:
            raise RuntimeError(f"no local runner for Lambda function {function_name!r}")
        return runner(function_name, event)

    def set_env(self, values: dict[str, str]) -> None:
        """Set process environment variables, restored when the emulator stops."""
        self._set_env(values)

    def _run_glue_job(self, job_name: str, run_id: str, arguments: dict[str, str]) -> Any:
        with self._lock:
            runner = self._runners.get(job_name)
        if runner is None:
            raise RuntimeError(f"no local runner for Glue job {job_name!r}")
        return runner(job_name, run_id, arguments)

    def _set_env(self, values: dict[str, str]) -> None:
        for name, value in values.items():
            if name not in self._saved_env:
                self._saved_env[name] = os.environ.get(name)
            os.environ[name] = value

    def _enable_state_machine_execution(self) -> None:
        from moto.core.config import default_user_config

        self._saved_sfn_config = dict(default_user_config.get("stepfunctions", {}))
        # The documented switch for a moto server: its config endpoint.
        self._post("/moto-api/config", {"stepfunctions": {"execute_state_machine": True}})

    def _post(self, path: str, body: dict[str, Any]) -> None:
        request = urllib.request.Request(
            f"{self._http_url}{path}",
            data=json.dumps(body).encode(),
            method="POST",
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            response.read()

    def _restore_sfn_config(self) -> None:
        if self._saved_sfn_config is None:
            return
        from moto.core.config import default_user_config

        default_user_config["stepfunctions"] = self._saved_sfn_config
        self._saved_sfn_config = None


def _check_free(host: str, port: int) -> None:
    """Refuse a port in use: ThreadedMotoServer would wait forever for a server that failed to
    bind in its thread."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as werkzeug's server does
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise UsageError(
                f"port {port} on {host} is not free ({exc.strerror}): choose another --port, "
                "or leave it out for a free one"
            ) from None


def _forget_cached_clients() -> None:
    """Drop boto3 clients the components cache per process: the endpoint has changed.

    (On AWS each Glue run and Lambda container has one endpoint for life; here emulators come
    and go within one process.) The manifest builder re-reads the endpoint on each call.
    """
    from ndjson_parquet.converter import storage

    storage.reset_clients()


class _TlsServer:
    """moto's application on a second, HTTPS listener (ThreadedMotoServer has no TLS option;
    `moto_server --ssl` has, with a certificate for no host name that clients cannot verify)."""

    def __init__(self, host: str, directory: Path) -> None:
        self.certificate = directory / "emulator-cert.pem"
        key = directory / "emulator-key.pem"
        _write_self_signed(host, self.certificate, key)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.certificate, key)
        self._server: BaseWSGIServer = make_server(
            host,
            0,
            DomainDispatcherApplication(create_backend_app),
            threaded=True,
            request_handler=MotoRequestHandler,
            ssl_context=context,
        )
        self.port: int = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="emulator-tls", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._thread.join()


def _write_self_signed(host: str, certificate: Path, key_file: Path) -> None:
    """A one-day certificate for `host`, localhost and 127.0.0.1 that is its own CA."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ndjson-parquet emulator")])
    now = datetime.datetime.now(datetime.UTC)
    addresses = {"127.0.0.1", host}
    alternative_names: list[x509.GeneralName] = [x509.DNSName("localhost")]
    for address in sorted(addresses):
        try:
            alternative_names.append(x509.IPAddress(ipaddress.ip_address(address)))
        except ValueError:
            alternative_names.append(x509.DNSName(address))
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(alternative_names), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    certificate.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    key_file.chmod(0o600)
