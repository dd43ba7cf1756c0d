"""PynamoDB models, one per table; their keys and indexes match infra/resources.yaml."""

from __future__ import annotations

import os

from pynamodb.attributes import (
    BooleanAttribute,
    ListAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
    VersionAttribute,
)
from pynamodb.indexes import (
    AllProjection,
    GlobalSecondaryIndex,
    IncludeProjection,
    KeysOnlyProjection,
    LocalSecondaryIndex,
)
from pynamodb.models import Model

from chalicelib.store.tables import TableMeta, TableModel

# Table names are read when a class is built, which is when a service first imports this module
# (never at app import); the test stage and the sandbox set them before that.


class TodosByCreatedIndex(LocalSecondaryIndex["TodoModel"]):
    """Live todos of a user, by creation time; tombstones have no key here (sparse)."""

    class Meta:
        index_name = "by_created"
        projection = AllProjection()

    user_id = UnicodeAttribute(hash_key=True)
    created_key = UnicodeAttribute(range_key=True)


class TodosByDoneIndex(LocalSecondaryIndex["TodoModel"]):
    """Live todos of a user, grouped by done flag then by creation time (sparse)."""

    class Meta:
        index_name = "by_done"
        projection = AllProjection()

    user_id = UnicodeAttribute(hash_key=True)
    done_key = UnicodeAttribute(range_key=True)


class TodosByUpdatedIndex(LocalSecondaryIndex["TodoModel"]):
    """Every todo and tombstone of a user, by last change: the delta-sync feed."""

    class Meta:
        index_name = "by_updated"
        projection = AllProjection()

    user_id = UnicodeAttribute(hash_key=True)
    updated_key = UnicodeAttribute(range_key=True)


class TodoModel(TableModel):
    class Meta(TableMeta):
        # Read from the environment when the class is built (see the module comment).
        table_name = os.environ.get("TODOS_TABLE_NAME", "mytodolist-dev-todos")

    user_id = UnicodeAttribute(hash_key=True)
    todo_id = UnicodeAttribute(range_key=True)
    title = UnicodeAttribute(null=True)
    notes = UnicodeAttribute(null=True)
    done = BooleanAttribute(default=False)
    due = UnicodeAttribute(null=True)
    tags = ListAttribute(of=UnicodeAttribute, null=True)
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    # Optimistic locking: every save, update and delete is conditional on it and increments it.
    version = VersionAttribute()
    deleted = BooleanAttribute(default=False)
    created_key = UnicodeAttribute(null=True)
    done_key = UnicodeAttribute(null=True)
    updated_key = UnicodeAttribute()
    expires_at = TTLAttribute(null=True)

    by_created = TodosByCreatedIndex()
    by_done = TodosByDoneIndex()
    by_updated = TodosByUpdatedIndex()


class IdempotencyModel(TableModel):
    """The first answer to a keyed write (its todo as JSON, "null" after a delete), kept 7 days
    (DynamoDB's TTL)."""

    class Meta(TableMeta):
        # Read from the environment when the class is built (see the module comment).
        table_name = os.environ.get("IDEMPOTENCY_TABLE_NAME", "mytodolist-dev-idempotency")

    key = UnicodeAttribute(hash_key=True)
    request_hash = UnicodeAttribute()
    response = UnicodeAttribute()
    # Whether the write created its todo; absent on records of v1.1, which were all creates.
    created = BooleanAttribute(null=True)
    created_at = UnicodeAttribute()
    expires_at = TTLAttribute()


class PhotosByCreatedIndex(LocalSecondaryIndex["PhotoModel"]):
    """A user's photos by upload time."""

    class Meta:
        index_name = "by_created"
        projection = AllProjection()

    user_id = UnicodeAttribute(hash_key=True)
    created_key = UnicodeAttribute(range_key=True)


class PhotoModel(TableModel):
    class Meta(TableMeta):
        # Read from the environment when the class is built (see the module comment).
        table_name = os.environ.get("PHOTOS_TABLE_NAME", "mytodolist-dev-photos")

    user_id = UnicodeAttribute(hash_key=True)
    photo_id = UnicodeAttribute(range_key=True)
    status = UnicodeAttribute()
    content_type = UnicodeAttribute()
    size = NumberAttribute()
    filename = UnicodeAttribute(null=True)
    width = NumberAttribute(null=True)
    height = NumberAttribute(null=True)
    error = UnicodeAttribute(null=True)
    created_at = UnicodeAttribute()
    created_key = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    version = VersionAttribute()
    # While a worker makes the thumbnails it holds a lease, so a duplicate delivery waits.
    lease_until = NumberAttribute(null=True)
    # Set while pending: a photo whose file never came is removed by DynamoDB's TTL.
    expires_at = TTLAttribute(null=True)

    by_created = PhotosByCreatedIndex()


# What a post listing shows: everything but the two large attributes (keys come anyway).
POST_LISTING_ATTRIBUTES = (
    "title",
    "summary",
    "status",
    "author",
    "cover_photo_id",
    "created_at",
    "updated_at",
    "published_at",
    "version",
)


class PostsByPublishedIndex(GlobalSecondaryIndex["PostModel"]):
    """Published posts by publication time; drafts have no `feed` and are not here (sparse)."""

    class Meta:
        index_name = "by_published"
        projection = IncludeProjection(list(POST_LISTING_ATTRIBUTES))

    feed = UnicodeAttribute(hash_key=True)
    published_key = UnicodeAttribute(range_key=True)


class PostModel(TableModel):
    class Meta(TableMeta):
        # Read from the environment when the class is built (see the module comment).
        table_name = os.environ.get("POSTS_TABLE_NAME", "mytodolist-dev-posts")

    slug = UnicodeAttribute(hash_key=True)
    title = UnicodeAttribute()
    summary = UnicodeAttribute(default="")
    body = UnicodeAttribute(default="")
    body_html = UnicodeAttribute(default="")
    status = UnicodeAttribute()
    author = UnicodeAttribute()
    cover_photo_id = UnicodeAttribute(null=True)
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    published_at = UnicodeAttribute(null=True)
    version = VersionAttribute()
    # Set only while published: they put the post into the by_published index.
    feed = UnicodeAttribute(null=True)
    published_key = UnicodeAttribute(null=True)

    by_published = PostsByPublishedIndex()


class SubscribersByTokenIndex(GlobalSecondaryIndex["SubscriberModel"]):
    """Finds the subscriber an unsubscribe link belongs to."""

    class Meta:
        index_name = "by_token"
        projection = KeysOnlyProjection()

    token = UnicodeAttribute(hash_key=True)


class SubscribersByAudienceIndex(GlobalSecondaryIndex["SubscriberModel"]):
    """Active subscribers only (sparse): whom a new post is mailed to."""

    class Meta:
        index_name = "by_audience"
        projection = KeysOnlyProjection()

    audience = UnicodeAttribute(hash_key=True)
    email = UnicodeAttribute(range_key=True)


class SubscriberModel(TableModel):
    class Meta(TableMeta):
        # Read from the environment when the class is built (see the module comment).
        table_name = os.environ.get("SUBSCRIBERS_TABLE_NAME", "mytodolist-dev-subscribers")

    # The address compared case-insensitively (the identity); `address` is what mail goes to.
    email = UnicodeAttribute(hash_key=True)
    address = UnicodeAttribute()
    # One secret per subscription period: the confirm link's, then the unsubscribe link's.
    token = UnicodeAttribute()
    # pending (waiting for confirmation), active or unsubscribed.
    status = UnicodeAttribute()
    # Grows on every re-subscription (the welcome mail's key before periods had ids).
    generation = NumberAttribute(default=1)
    # A new id per subscription period, in its mails' ledger keys: a period after a deletion
    # (TTL, an operator) never meets the old one's. None on items older than the field.
    period = UnicodeAttribute(null=True)
    # Grows on every confirmation mail asked for: each gets its own delivery.
    confirmations = NumberAttribute(default=0)
    # When the last confirmation mail was asked for (epoch seconds): at most one an hour.
    requested_at = NumberAttribute(null=True)
    # Set while pending: the confirm link stops working then, and TTL removes the address.
    expires_at = TTLAttribute(null=True)
    audience = UnicodeAttribute(null=True)
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    confirmed_at = UnicodeAttribute(null=True)
    unsubscribed_at = UnicodeAttribute(null=True)

    by_token = SubscribersByTokenIndex()
    by_audience = SubscribersByAudienceIndex()


class MailDeliveryModel(TableModel):
    """One mail that must go out exactly once: claimed ("sending", with a lease), then "sent"."""

    class Meta(TableMeta):
        # Read from the environment when the class is built (see the module comment).
        table_name = os.environ.get("MAIL_DELIVERIES_TABLE_NAME", "mytodolist-dev-mail-deliveries")

    delivery_id = UnicodeAttribute(hash_key=True)
    state = UnicodeAttribute()
    lease_until = NumberAttribute(null=True)
    # A mailbox's confirmation window (blog/mail/mailboxes.py): the delivery that holds it.
    holder = UnicodeAttribute(null=True)
    attempts = NumberAttribute(default=0)
    message_id = UnicodeAttribute(null=True)
    sent_at = UnicodeAttribute(null=True)
    expires_at = TTLAttribute(null=True)


class ConnectionsByIdIndex(GlobalSecondaryIndex["ConnectionModel"]):
    """Finds the user of a connection API Gateway closed: its $disconnect names no user."""

    class Meta:
        index_name = "by_connection"
        projection = KeysOnlyProjection()

    connection_id = UnicodeAttribute(hash_key=True)


class ConnectionModel(TableModel):
    """An open WebSocket connection of a user, and where frames for it are posted."""

    class Meta(TableMeta):
        # Read from the environment when the class is built (see the module comment).
        table_name = os.environ.get("CONNECTIONS_TABLE_NAME", "mytodolist-dev-connections")

    user_id = UnicodeAttribute(hash_key=True)
    connection_id = UnicodeAttribute(range_key=True)
    endpoint = UnicodeAttribute()
    # Epoch seconds: a connection younger than a few seconds may still be in its handshake.
    connected_at = NumberAttribute()
    expires_at = TTLAttribute()

    by_connection = ConnectionsByIdIndex()


ALL_MODELS: tuple[type[Model], ...] = (
    TodoModel,
    IdempotencyModel,
    PhotoModel,
    PostModel,
    SubscriberModel,
    MailDeliveryModel,
    ConnectionModel,
)
