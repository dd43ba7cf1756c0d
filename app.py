"""The Chalice application: routes and event handlers, each a thin adapter over chalicelib."""

from __future__ import annotations

from typing import Any

from chalice import Rate
from chalice.app import CloudWatchEvent, DynamoDBEvent, SQSEvent, WebsocketEvent

from chalicelib import (
    __version__,
    blog,
    follow_local_sandbox,
    photos,
    realtime,
    register_snapstart_hooks,
)
from chalicelib.blog.posts import routes as post_routes
from chalicelib.blog.subscribers import routes as subscriber_routes
from chalicelib.core import telemetry
from chalicelib.core.config import import_time_value
from chalicelib.photos import routes as photo_routes
from chalicelib.todos import routes as todo_routes
from chalicelib.warm import WarmableChalice, warmer
from chalicelib.web.http import API_CORS, BODYLESS, check_client_version

# `chalice local --stage local` only: find the running sandbox before anything reads settings.
follow_local_sandbox()

app = WarmableChalice(app_name="mytodolist")
# The WebSocket API (on_ws_*) is behind Chalice's feature flag.
app.experimental_feature_flags.update(["WEBSOCKETS"])
# Every route's CORS (blueprints take the default when registered, so it is set first).
app.api.cors = API_CORS
app.register_blueprint(todo_routes.bp)
app.register_blueprint(photo_routes.bp)
app.register_blueprint(post_routes.bp)
app.register_blueprint(subscriber_routes.bp)
# One log event and its metrics per request or batch (chalicelib/core/telemetry.py).
app.register_middleware(telemetry.observe, "all")
# Every route, /health included: an older client is 426 before any route's work (registered after
# telemetry, so that its answers are logged and counted too).
app.register_middleware(check_client_version, "http")


@app.route("/health", methods=["GET"], content_types=BODYLESS)
def health() -> dict[str, str]:
    return {"status": "ok", "version": __version__}


# A decorator argument, so read at import; .chalice/config.json sets it per stage.
@app.on_sqs_message(
    queue=import_time_value("THUMBNAILS_QUEUE_NAME", "mytodolist-dev-thumbnails"), batch_size=10
)
def make_thumbnails(event: SQSEvent) -> dict[str, Any]:
    messages = [(record.to_dict()["messageId"], record.body) for record in event]
    return photos.thumbnail_service().handle_messages(messages)


# Decorator arguments, so read at import; .chalice/config.json sets them per stage. The handlers
# take the raw records: a malformed one must be reported alone, not fail Chalice's parsing.
@app.on_dynamodb_record(
    stream_arn=import_time_value(
        "SUBSCRIBERS_STREAM_ARN",
        "arn:aws:dynamodb:us-east-1:000000000000:table/mytodolist-dev-subscribers/stream/unset",
    ),
    batch_size=10,
    starting_position="TRIM_HORIZON",
)
def send_welcome_mails(event: DynamoDBEvent) -> dict[str, Any]:
    return blog.mail_service().send_welcome_mails(event.to_dict()["Records"])


# A decorator argument, so read at import; .chalice/config.json sets it per stage.
@app.on_dynamodb_record(
    stream_arn=import_time_value(
        "POSTS_STREAM_ARN",
        "arn:aws:dynamodb:us-east-1:000000000000:table/mytodolist-dev-posts/stream/unset",
    ),
    batch_size=10,
    starting_position="TRIM_HORIZON",
)
def announce_posts(event: DynamoDBEvent) -> dict[str, Any]:
    return blog.fanout().announce_posts(event.to_dict()["Records"])


# A decorator argument, so read at import; .chalice/config.json sets it per stage. Each message
# carries up to 50 mails: two per invocation stay well inside the function's timeout.
@app.on_sqs_message(
    queue=import_time_value("POST_MAILS_QUEUE_NAME", "mytodolist-dev-post-mails"), batch_size=2
)
def send_post_mails(event: SQSEvent) -> dict[str, Any]:
    messages = [(record.to_dict()["messageId"], record.body) for record in event]
    return blog.mail_service().send_post_mails(messages)


# Token, then client version (426 below the stage's minimum, as on REST), then storage.
@app.on_ws_connect()
@realtime.refusals
def open_connection(event: WebsocketEvent) -> dict[str, Any]:
    realtime.connection_service().open(
        event.connection_id,
        realtime.token(event),
        realtime.endpoint(event),
        realtime.client_version(event),
    )
    return realtime.ACCEPTED


@app.on_ws_message()
def answer_message(event: WebsocketEvent) -> None:
    realtime.connection_service().answer(event.connection_id, realtime.endpoint(event), event.body)


@app.on_ws_disconnect()
def close_connection(event: WebsocketEvent) -> None:
    realtime.connection_service().close(event.connection_id)


# A decorator argument, so read at import; .chalice/config.json sets it per stage. LATEST: a poke
# about a change made before the function existed would wake nobody who still cares.
@app.on_dynamodb_record(
    stream_arn=import_time_value(
        "TODOS_STREAM_ARN",
        "arn:aws:dynamodb:us-east-1:000000000000:table/mytodolist-dev-todos/stream/unset",
    ),
    batch_size=100,
    starting_position="LATEST",
)
def poke_devices(event: DynamoDBEvent) -> dict[str, Any]:
    return realtime.poke_service().poke_devices(event.to_dict()["Records"])


@app.schedule(Rate(5, unit=Rate.MINUTES), description="Keeps WARM_CONCURRENCY API containers warm")
def warm_api(event: CloudWatchEvent) -> dict[str, Any]:
    return warmer().warm()


# Where Lambda SnapStart runs this function: load everything before the snapshot, and make each
# restored container its own (chalicelib/snapstart.py). Elsewhere, nothing.
register_snapstart_hooks()
