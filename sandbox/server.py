"""The sandbox put together: which component starts on which port, in what order; endpoints.json."""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from typing import Any, Protocol, TextIO, TypeVar

import boto3

from sandbox.api import ApiServer, chalice_config
from sandbox.aws import MotoServer
from sandbox.aws_faults import own_session
from sandbox.cognito import TokenVerifier
from sandbox.endpoints import pid_alive, remove_endpoints, write_endpoints
from sandbox.env import (
    app_environment,
    placeholders,
    point_at_sandbox,
    resource_environment,
    stage_environment,
)
from sandbox.faults import Faults, FaultSpecError, faulted_handlers
from sandbox.handlers import event_handlers, load_app, websocket_handlers
from sandbox.persist import Snapshotter
from sandbox.pump import EventPump
from sandbox.resources import (
    Mail,
    Media,
    UserPool,
    create_mail,
    create_media,
    create_tables,
    create_user_pool,
    stream_arns,
)
from sandbox.restore import Restorer
from sandbox.settings import SENDER, STAGE, SandboxError, SandboxSettings
from sandbox.site import SiteServer
from sandbox.state import STATE_DIR, StateStore
from sandbox.websocket import MANAGEMENT_PATH, WebSocketServer


class Component(Protocol):
    """One part of the sandbox (a server, the event pump, the snapshots) with its own threads."""

    name: str

    def start(self) -> None: ...

    def stop(self) -> None: ...


C = TypeVar("C", bound=Component)


@dataclass(frozen=True)
class AwsResources:
    """What the sandbox created in moto, and where its state is kept."""

    store: StateStore
    restored: bool
    tables: dict[str, str]
    media: Media
    mail: Mail
    pool: UserPool


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
        faults = self._faults()
        moto = self._add(MotoServer(settings.host, settings.aws_port, settings.region, faults))
        point_at_sandbox(os.environ, moto.url, settings.region)
        # The sandbox's own calls (resources, the pump, snapshots) are AWS's work: never faulted.
        session = own_session(settings.region)
        aws = self._create_resources(session)
        # Before the app: stopped after it, so the last snapshot sees everything it did.
        snapshots = self._add(
            Snapshotter(
                aws.store, session, settings.region, aws.pool.id, period=settings.snapshot_seconds
            )
        )
        # The control route that `reset` uses to save the emptied state at once.
        moto.actions[("POST", "snapshot")] = lambda _: {"saved": snapshots.save()}
        environment = self._app_environment(aws, session)
        # The app's WebSocket handlers check tokens against moto's pool; the frames they send
        # go to the sandbox's @connections API (on the AWS endpoint, as in AWS).
        environment.update(
            USER_POOL_CLIENT_ID=aws.pool.client_id,
            USER_POOL_JWKS_URL=f"{moto.url}/{aws.pool.id}/.well-known/jwks.json",
            WEBSOCKET_MANAGEMENT_URL=moto.url + MANAGEMENT_PATH,
        )
        os.environ.update(environment)
        # Decorators read stream ARNs and queue names on import: everything is set by now.
        app = load_app()
        handlers = event_handlers(app)
        try:
            faults.expect_handlers(handlers)
        except FaultSpecError as e:
            raise SandboxError(f"SANDBOX_FAULTS: {e}") from e
        verifier = TokenVerifier.for_pool(
            aws.pool.arn, aws.pool.client_id, jwks_url=environment["USER_POOL_JWKS_URL"]
        )
        config = chalice_config(app, environment)
        api = self._add(ApiServer(app, config, verifier, settings.host, settings.api_port))
        site = self._add(SiteServer(settings.host, settings.site_port, api.url))
        websocket = self._add(
            WebSocketServer(
                websocket_handlers(app), settings.host, settings.ws_port, config.api_gateway_stage
            )
        )
        moto.mounts[MANAGEMENT_PATH] = websocket.management_app
        urls = {"API_URL": api.url, "SITE_URL": site.url}
        # Settings are read on first use: no request or event can come before this line.
        os.environ.update(urls)
        environment.update(urls)
        for name in placeholders(environment):
            print(f"sandbox: warning: {name} keeps its config.json placeholder", file=self._err)
        self._add(
            EventPump(
                app,
                faulted_handlers(handlers, faults),
                session,
                settings.region,
                schedule_period=settings.schedule_seconds,
            )
        )
        endpoints: dict[str, Any] = {
            "api_url": api.url,
            "site_url": site.url,
            "ws_url": websocket.url,
            "aws_endpoint_url": moto.url,
            **self._resource_endpoints(aws),
            "faults": {"rules": faults.spec, "seed": faults.seed},
            "app_environment": environment,
            "pid": os.getpid(),
        }
        # Last: scripts and tests take the file's existence to mean everything is ready.
        write_endpoints(settings.endpoints_file, endpoints)
        self.endpoints = endpoints
        return endpoints

    def _faults(self) -> Faults:
        """SANDBOX_FAULTS's rules, refused before anything starts when malformed."""
        try:
            return Faults.start(self.settings.faults, self.settings.fault_seed)
        except FaultSpecError as e:
            raise SandboxError(f"SANDBOX_FAULTS: {e}") from e

    def _create_resources(self, session: boto3.Session) -> AwsResources:
        """The template's resources in moto, filled with the saved state."""
        store = StateStore(self.settings.directory / STATE_DIR)
        if self.settings.fresh and store.clear():
            self.state_report.append(f"--fresh: deleted the saved state in {store.directory}")
        restorer = Restorer(store, session, self.settings.region)
        aws = AwsResources(
            store=store,
            restored=restorer.snapshot is not None,
            tables=create_tables(STAGE, session, fill=restorer.table),
            media=create_media(STAGE, session, fill=restorer.bucket),
            mail=create_mail(STAGE, SENDER, session),
            pool=create_user_pool(STAGE, session),
        )
        restorer.rest(aws.pool.id)
        self._report_restore(restorer, store)
        return aws

    def _app_environment(self, aws: AwsResources, session: boto3.Session) -> dict[str, str]:
        environment = app_environment(
            stage_environment(), aws.tables, aws.pool.arn, aws.store.cursor_secret()
        )
        environment.update(
            resource_environment(
                media=aws.media,
                mail=aws.mail,
                streams=stream_arns(STAGE, session),
                warm_concurrency=self.settings.warm_concurrency,
            )
        )
        return environment

    def _resource_endpoints(self, aws: AwsResources) -> dict[str, Any]:
        settings = self.settings
        return {
            "region": settings.region,
            "user_pool_id": aws.pool.id,
            "user_pool_client_id": aws.pool.client_id,
            "media_bucket": aws.media.bucket,
            "mail_sender": aws.mail.sender,
            "stage": STAGE,
            "todos_table": aws.tables["TodosTable"],
            "idempotency_table": aws.tables["IdempotencyTable"],
            "tables": aws.tables,
            "pump": {"schedule_seconds": settings.schedule_seconds},
            "state": {
                "directory": str(aws.store.directory),
                "restored": aws.restored,
                "snapshot_seconds": settings.snapshot_seconds,
            },
        }

    def _report_restore(self, restorer: Restorer, store: StateStore) -> None:
        if restorer.snapshot is not None:
            self.state_report.append(
                f"restored the state saved {restorer.saved_at} from {store.directory}: "
                f"{restorer.snapshot.summary()}"
            )
        else:
            self.state_report.append(f"no saved state: starting empty (saved to {store.directory})")
        self.state_report.extend(f"warning: {problem}" for problem in restorer.problems)

    def _add(self, component: C) -> C:
        """Start a component; stop() will stop it, newest first."""
        component.start()
        self._components.append(component)
        return component

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
