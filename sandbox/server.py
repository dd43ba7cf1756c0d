"""The running sandbox: moto as AWS and the API with strict Cognito checks, started and stopped."""

from __future__ import annotations

import functools
import gc
import importlib
import json
import logging
import os
import secrets
import signal
import socket
import socketserver
import sys
import threading
import traceback
from collections.abc import Callable, Sequence
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from types import FrameType
from typing import Any, Protocol, TextIO

import boto3
from chalice import Chalice
from chalice.app import ScheduledEventConfig
from chalice.config import Config
from chalice.deploy.validate import validate_routes
from chalice.local import (
    ChaliceRequestHandler,
    LambdaContext,
    LocalChalice,
    LocalDevServer,
    LocalGateway,
    LocalGatewayException,
    RouteMatcher,
)
from werkzeug.serving import BaseWSGIServer, make_server

from sandbox import logs
from sandbox.atomic import make_dynamodb_atomic
from sandbox.cognito import TokenVerifier, install
from sandbox.control import SandboxAwsApp
from sandbox.env import (
    BASE_STAGE,
    CHALICE_CONFIG,
    DEFAULT_REGION,
    ROOT,
    SENDER,
    STAGE,
    SandboxError,
    SandboxSettings,
    app_environment,
    aws_environment,
    pid_alive,
    placeholders,
    point_at_sandbox,
    remove_endpoints,
    resource_environment,
    stage_environment,
    write_endpoints,
)
from sandbox.gateway import gateway_response
from sandbox.persist import Restorer, Snapshotter, clear_outbox, outbox_data
from sandbox.pump import EventPump, Handler, scheduled_event
from sandbox.resources import (
    create_mail,
    create_media,
    create_tables,
    create_user_pool,
    stream_arns,
)
from sandbox.serving import ThreadedServer
from sandbox.site import SiteServer
from sandbox.state import STATE_DIR, StateStore

_ERROR_CODES = {401: "UnauthorizedError", 403: "ForbiddenError"}


class Component(Protocol):
    """One part of the sandbox (a server, later the event pump) with its own threads."""

    name: str

    def start(self) -> None: ...

    def stop(self) -> None: ...


def error_body(status: int, body: bytes | str | None) -> bytes:
    """A local gateway error's body in the app's envelope (Chalice's own is {"message": ...})."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body or ""
    try:
        data: Any = json.loads(text)
    except ValueError:
        data = {"message": text}
    if isinstance(data, dict) and "Code" in data and "Message" in data:
        return json.dumps(data).encode()
    message = data.get("message") if isinstance(data, dict) else None
    envelope = {
        "Code": _ERROR_CODES.get(status, "InternalServerError"),
        "Message": message or "the request was refused",
    }
    return json.dumps(envelope).encode()


class SandboxRequestHandler(ChaliceRequestHandler):
    """Chalice's local request handler with real Cognito checks; every failure is an envelope."""

    def __init__(
        self,
        request: Any,
        client_address: tuple[str, int],
        server: Any,
        *,
        app_object: Chalice,
        config: Config,
        verifier: TokenVerifier,
    ) -> None:
        self.local_gateway = LocalGateway(app_object, config)
        install(self.local_gateway, app_object, verifier)
        self._routes = RouteMatcher(list(app_object.routes))
        self._methods = {path: set(entries) for path, entries in app_object.routes.items()}
        # Not ChaliceRequestHandler.__init__: it would serve the request before install() ran.
        BaseHTTPRequestHandler.__init__(self, request, client_address, server)

    def _generic_handle(self) -> None:
        length = self.headers.get("content-length", "0")
        if not (length.isascii() and length.isdigit()):
            # Chalice's int() of it would drop the connection; API Gateway says 400.
            self._send_gateway("DEFAULT_4XX", f"Content-Length is not a number: {length!r}")
            return
        headers, body = self._parse_payload()
        if not self._has_route():
            # Chalice's answer echoes the Authorization header back (a non-ASCII one drops the
            # connection) or is an HTML 501; API Gateway answers an unknown path or method
            # with its MISSING_AUTHENTICATION_TOKEN response.
            self._send_gateway("MISSING_AUTHENTICATION_TOKEN")
            return
        try:
            with logs.handling("api_handler"):
                response = self.local_gateway.handle_request(
                    method=self.command, path=self.path, headers=headers, body=body
                )
        except LocalGatewayException as e:
            self._send_http_response(e.CODE, dict(e.headers), error_body(e.CODE, e.body))
            return
        except Exception:
            # A dropped connection tells the developer nothing; the log and a 500 do.
            self.log_error("unhandled error:\n%s", traceback.format_exc())
            self._send_envelope(500, "InternalServerError", "the sandbox failed; see its log")
            return
        out_headers = dict(response["headers"])
        out_headers.update(response.get("multiValueHeaders") or {})
        response = self._handle_binary(response)
        self._send_http_response(response["statusCode"], out_headers, response["body"])

    def _has_route(self) -> bool:
        try:
            found = self._routes.match_route(self.path)
        except ValueError:
            return False
        # Every route answers CORS preflights (the app's default CORS config).
        return self.command in self._methods[found.route] or self.command == "OPTIONS"

    def _send_gateway(self, kind: str, message: str | None = None) -> None:
        status, headers, body = gateway_response(kind, message)
        self._send_http_response(status, headers, body)

    def __getattr__(self, name: str) -> Any:
        # http.server answers a method without a do_<METHOD> with an HTML 501; API Gateway
        # treats TRACE and made-up verbs as any other method no route has.
        if name.startswith("do_"):
            return self._generic_handle
        raise AttributeError(name)

    def _send_envelope(self, status: int, code: str, message: str) -> None:
        body = json.dumps({"Code": code, "Message": message}).encode()
        self._send_http_response(status, {"Content-Type": "application/json"}, body)

    # The parent binds its own _generic_handle to these names, so they must be rebound here.
    do_GET = do_PUT = do_POST = do_HEAD = _generic_handle  # noqa: N815 - http.server's names
    do_DELETE = do_PATCH = do_OPTIONS = _generic_handle  # noqa: N815


def serve_on_threads(app: Chalice) -> None:
    """Give the app a current_request per thread, as `chalice local` does for its server."""
    if not isinstance(app, LocalChalice):
        app.__class__ = type(f"Local{type(app).__name__}", (LocalChalice, type(app)), {})


def chalice_config(app: Chalice, environment: dict[str, str]) -> Config:
    """The base stage's Chalice config (timeouts, memory) with the sandbox's variables."""
    return Config(
        chalice_stage=BASE_STAGE,
        user_provided_params={
            "chalice_app": app,
            "project_dir": str(ROOT),
            "environment_variables": environment,
        },
        config_from_disk=json.loads(CHALICE_CONFIG.read_text()),
    )


class MotoServer(ThreadedServer):
    """moto's server, in this process, standing in for every AWS service."""

    name = "aws"

    def __init__(self, host: str, port: int, region: str = DEFAULT_REGION) -> None:
        super().__init__(host, port)
        # The sandbox's credentials: the one key the S3 POST checks accept.
        credentials = aws_environment("", "")
        self._secrets = {credentials["AWS_ACCESS_KEY_ID"]: credentials["AWS_SECRET_ACCESS_KEY"]}
        self.actions: dict[tuple[str, str], Callable[[], Any]] = {
            ("GET", "outbox"): lambda: outbox_data(region),
            ("POST", "outbox/clear"): lambda: {"deleted": clear_outbox(region)},
        }

    def _bind(self) -> BaseWSGIServer:
        from moto.moto_server.werkzeug_app import (  # noqa: PLC0415 - slow import, only here
            DomainDispatcherApplication,
            MotoRequestHandler,
            create_backend_app,
        )

        make_dynamodb_atomic()
        # Every AWS call the app makes would be logged; the API's own request log is enough.
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        # Bound here because werkzeug calls sys.exit() when it cannot bind a port itself.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((self._host, self._port))
            sock.listen(128)
        except OSError as e:
            sock.close()
            raise self.cannot_listen("AWS (moto)", "SANDBOX_AWS_PORT", e) from e
        app = SandboxAwsApp(DomainDispatcherApplication(create_backend_app), self._secrets)
        app.actions = self.actions
        try:
            return make_server(
                self._host,
                sock.getsockname()[1],
                app,
                threaded=True,
                request_handler=MotoRequestHandler,
                fd=sock.fileno(),
            )
        finally:
            sock.close()  # werkzeug serves a duplicate of the descriptor


class ApiServer(ThreadedServer):
    """The Chalice app behind Chalice's local server, with strict Cognito checks."""

    name = "api"

    def __init__(
        self, app: Chalice, config: Config, verifier: TokenVerifier, host: str, port: int
    ) -> None:
        super().__init__(host, port)
        self._app = app
        self._config = config
        self._verifier = verifier

    def _bind(self) -> socketserver.BaseServer:
        # Refuse what `chalice deploy` would refuse, as `chalice local` does.
        validate_routes(self._app.routes)
        serve_on_threads(self._app)
        handler = functools.partial(SandboxRequestHandler, verifier=self._verifier)
        try:
            local = LocalDevServer(
                self._app, self._config, self._host, self._port, handler_cls=handler
            )
        except OSError as e:
            raise self.cannot_listen("the API", "SANDBOX_API_PORT", e) from e
        server: socketserver.BaseServer = local.server
        return server


def load_app() -> Chalice:
    """Import app.py now: its models and authorizer read the environment when imported."""
    if "app" in sys.modules:
        raise SandboxError("app was imported before the sandbox set its environment")
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    app = importlib.import_module("app").app
    if not isinstance(app, Chalice):
        raise SandboxError("app.py has no Chalice object named app")
    return app


def event_handlers(app: Chalice) -> dict[str, Handler]:
    """The Chalice handler objects Lambda would call, by name, for every event source."""
    module = sys.modules["app"]
    return {config.name: getattr(module, config.name) for config in app.event_sources}


def fire(endpoints: dict[str, Any], name: str) -> Any:
    """Run one scheduled handler now, in this process, against the running sandbox."""
    point_at_sandbox(os.environ, endpoints["aws_endpoint_url"], endpoints["region"])
    os.environ.update(endpoints["app_environment"])
    app = load_app()
    scheduled = sorted(c.name for c in app.event_sources if isinstance(c, ScheduledEventConfig))
    if name not in scheduled:
        raise SandboxError(
            f"no scheduled handler named {name!r}; the app has: {', '.join(scheduled) or 'none'}"
        )
    handler = event_handlers(app)[name]
    context = LambdaContext(function_name=name, memory_size=128)
    return handler(scheduled_event(name, endpoints["region"]), context)


class Sandbox:
    """Owns the components: start() brings them up in order, stop() takes them down in reverse.

    One per process: the app reads its environment when it is first imported.
    """

    def __init__(self, settings: SandboxSettings, err: TextIO = sys.stderr) -> None:
        self.settings = settings
        self.endpoints: dict[str, Any] | None = None
        # What start() did with the saved state, for the banner.
        self.state_report: list[str] = []
        self._err = err
        self._components: list[Component] = []

    def start(self) -> dict[str, Any]:
        """Start everything, then write endpoints.json; returns what it wrote."""
        try:
            return self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self) -> dict[str, Any]:
        settings = self.settings
        self._refuse_second_sandbox()
        # Ids derived from the pool's and client's definitions: a mobile app's settings hold.
        os.environ["MOTO_COGNITO_IDP_USER_POOL_ID_STRATEGY"] = "HASH"
        os.environ["MOTO_COGNITO_IDP_USER_POOL_CLIENT_ID_STRATEGY"] = "HASH"
        moto = MotoServer(settings.host, settings.aws_port, settings.region)
        self._add(moto)
        point_at_sandbox(os.environ, moto.url, settings.region)
        session = boto3.Session(region_name=settings.region)
        store = StateStore(settings.directory / STATE_DIR)
        if settings.fresh and store.clear():
            self.state_report.append(f"--fresh: deleted the saved state in {store.directory}")
        restorer = Restorer(store, session, settings.region)
        tables = create_tables(STAGE, session, fill=restorer.table)
        media = create_media(STAGE, session, fill=restorer.bucket)
        mail = create_mail(STAGE, SENDER, session)
        pool = create_user_pool(STAGE, session)
        restorer.rest(pool.id)
        self._report_restore(restorer, store)
        # Before the app: stopped after it, so the last snapshot sees everything it did.
        snapshots = Snapshotter(
            store, session, settings.region, pool.id, period=settings.snapshot_seconds
        )
        self._add(snapshots)
        self._control(moto, snapshots)
        environment = app_environment(
            stage_environment(), tables, pool.arn, secrets.token_urlsafe(32)
        )
        environment.update(
            resource_environment(
                media=media,
                mail=mail,
                streams=stream_arns(STAGE, session),
                warm_concurrency=settings.warm_concurrency,
            )
        )
        os.environ.update(environment)
        # Decorators read stream ARNs and queue names on import: everything is set by now.
        app = load_app()
        verifier = TokenVerifier(
            issuer=f"https://cognito-idp.{settings.region}.amazonaws.com/{pool.id}",
            client_id=pool.client_id,
            jwks_url=f"{moto.url}/{pool.id}/.well-known/jwks.json",
        )
        api = ApiServer(
            app, chalice_config(app, environment), verifier, settings.host, settings.api_port
        )
        self._add(api)
        site = SiteServer(settings.host, settings.site_port, api.url)
        self._add(site)
        # Settings are read on first use: no request or event can come before this line.
        os.environ["SITE_URL"] = environment["SITE_URL"] = site.url
        os.environ["API_URL"] = environment["API_URL"] = api.url
        for name in placeholders(environment):
            print(f"sandbox: warning: {name} keeps its config.json placeholder", file=self._err)
        self._add(
            EventPump(
                app,
                event_handlers(app),
                session,
                settings.region,
                schedule_period=settings.schedule_seconds,
            )
        )
        endpoints: dict[str, Any] = {
            "api_url": api.url,
            "site_url": site.url,
            "aws_endpoint_url": moto.url,
            "region": settings.region,
            "user_pool_id": pool.id,
            "user_pool_client_id": pool.client_id,
            "media_bucket": media.bucket,
            "mail_sender": mail.sender,
            "stage": STAGE,
            "todos_table": tables["TodosTable"],
            "idempotency_table": tables["IdempotencyTable"],
            "tables": tables,
            "pump": {"schedule_seconds": settings.schedule_seconds},
            "state": {
                "directory": str(store.directory),
                "restored": restorer.snapshot is not None,
                "snapshot_seconds": settings.snapshot_seconds,
            },
            "app_environment": environment,
            "pid": os.getpid(),
        }
        # Last: scripts and tests take the file's existence to mean everything is ready.
        write_endpoints(settings.endpoints_file, endpoints)
        self.endpoints = endpoints
        return endpoints

    def _report_restore(self, restorer: Restorer, store: StateStore) -> None:
        if restorer.snapshot is not None:
            self.state_report.append(
                f"restored the state saved {restorer.saved_at} from {store.directory}: "
                f"{restorer.snapshot.summary()}"
            )
        else:
            self.state_report.append(f"no saved state: starting empty (saved to {store.directory})")
        self.state_report.extend(f"warning: {problem}" for problem in restorer.problems)

    def _control(self, moto: MotoServer, snapshots: Snapshotter) -> None:
        """The control route that `reset` uses to save the emptied state at once."""
        moto.actions[("POST", "snapshot")] = lambda: {"saved": snapshots.save()}

    def _add(self, component: Component) -> None:
        component.start()
        self._components.append(component)

    def _refuse_second_sandbox(self) -> None:
        path = self.settings.endpoints_file
        try:
            pid = json.loads(path.read_text()).get("pid")
        except (OSError, ValueError):
            return
        if isinstance(pid, int) and pid != os.getpid() and pid_alive(pid):
            raise SandboxError(
                f"a sandbox is already running (pid {pid}, see {path}); stop it first, "
                "or give this one another SANDBOX_DIR and ports"
            )

    def stop(self) -> None:
        """Stop every started component, newest first; safe to call more than once."""
        if self.endpoints is not None:
            remove_endpoints(self.settings.endpoints_file, os.getpid())
            self.endpoints = None
        while self._components:
            component = self._components.pop()
            try:
                component.stop()
            except Exception as e:  # one stuck component must not keep the others running
                print(f"sandbox: stopping {component.name} failed: {e}", file=self._err)


def python_command(executable: str = sys.executable, root: Path = ROOT) -> str:
    """How to run this Python in the hint: the repo's venv by path, else plain `python`."""
    path = Path(executable)
    if path.is_relative_to(root):
        return str(path.relative_to(root))
    return "python"


def banner(
    endpoints: dict[str, Any], endpoints_file: Path, python: str, state: Sequence[str] = ()
) -> str:
    cli = f"{python} -m sandbox"
    api = endpoints["api_url"]
    return "\n".join(
        [
            f"MyTodoList sandbox (stage {endpoints['stage']}, region {endpoints['region']})",
            f"  API         {api}",
            f"  site        {endpoints['site_url']}",
            f"  AWS (moto)  {endpoints['aws_endpoint_url']}",
            f"  user pool   {endpoints['user_pool_id']} (app client "
            f"{endpoints['user_pool_client_id']})",
            f"  endpoints   {endpoints_file}",
            *(f"  state       {line}" for line in state),
            f"Create a user:  {cli} user create me@example.com 'Passw0rd!!' [--editor]",
            f"Get a token:    TOKEN=$({cli} token me@example.com 'Passw0rd!!'); "
            f'curl -H "Authorization: $TOKEN" {api}/todos',
            f"Sent mail:      {cli} mail",
            "Press Ctrl-C to stop.",
        ]
    )


def run(settings: SandboxSettings, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    """Start the sandbox, serve until Ctrl-C or SIGTERM, then stop it; the exit status."""
    stopping = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    sandbox = Sandbox(settings, err)
    logs.configure(err)
    try:
        try:
            endpoints = sandbox.start()
        except SandboxError as e:
            print(f"sandbox: {e}", file=err)
            return 1
        # moto's backends are a great many long-lived objects; frozen, the garbage collector
        # stops walking them on every full collection (and at exit, which took seconds).
        gc.freeze()
        text = banner(endpoints, settings.endpoints_file, python_command(), sandbox.state_report)
        print(text, file=out, flush=True)
        # A timed wait: the signal handler runs between waits even if the wait is not interrupted.
        while not stopping.wait(0.2):
            pass
        print("Stopping the sandbox...", file=out, flush=True)
    finally:
        sandbox.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    print(
        f"Sandbox stopped. Its state is saved in {settings.directory / STATE_DIR} "
        "(`make run` restores it, `make run FRESH=1` starts empty).",
        file=out,
        flush=True,
    )
    return 0
