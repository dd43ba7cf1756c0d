"""PynamoDB models, one per table; their keys and indexes match infra/resources.yaml."""

from __future__ import annotations

import os

from pynamodb.attributes import (
    BooleanAttribute,
    ListAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
)
from pynamodb.indexes import AllProjection, LocalSecondaryIndex
from pynamodb.models import Model

# Meta values are read when the class is built, which is when a service first imports this
# module (never at app import); the test stage and the sandbox set them before that.
_REGION = os.environ.get("AWS_REGION", os.environ.get("AWS_DEFAULT_REGION", "us-east-1"))


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


class TodoModel(Model):
    class Meta:
        # Read from the environment when the class is built (see the module comment).
        table_name = os.environ.get("TODOS_TABLE_NAME", "mytodolist-dev-todos")
        region = _REGION

    user_id = UnicodeAttribute(hash_key=True)
    todo_id = UnicodeAttribute(range_key=True)
    title = UnicodeAttribute(null=True)
    notes = UnicodeAttribute(null=True)
    done = BooleanAttribute(default=False)
    due = UnicodeAttribute(null=True)
    tags = ListAttribute(of=UnicodeAttribute, null=True)
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    version = NumberAttribute()
    deleted = BooleanAttribute(default=False)
    created_key = UnicodeAttribute(null=True)
    done_key = UnicodeAttribute(null=True)
    updated_key = UnicodeAttribute()
    expires_at = TTLAttribute(null=True)

    by_created = TodosByCreatedIndex()
    by_done = TodosByDoneIndex()
    by_updated = TodosByUpdatedIndex()


class IdempotencyModel(Model):
    """The first response to a keyed request, kept 24 hours (DynamoDB TTL)."""

    class Meta:
        # Read from the environment when the class is built (see the module comment).
        table_name = os.environ.get("IDEMPOTENCY_TABLE_NAME", "mytodolist-dev-idempotency")
        region = _REGION

    key = UnicodeAttribute(hash_key=True)
    request_hash = UnicodeAttribute()
    response = UnicodeAttribute()
    created_at = UnicodeAttribute()
    expires_at = TTLAttribute()


class PhotosByCreatedIndex(LocalSecondaryIndex["PhotoModel"]):
    """A user's photos by upload time."""

    class Meta:
        index_name = "by_created"
        projection = AllProjection()

    user_id = UnicodeAttribute(hash_key=True)
    created_key = UnicodeAttribute(range_key=True)


class PhotoModel(Model):
    class Meta:
        # Read from the environment when the class is built (see the module comment).
        table_name = os.environ.get("PHOTOS_TABLE_NAME", "mytodolist-dev-photos")
        region = _REGION

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
    version = NumberAttribute()
    # While a worker makes the thumbnails it holds a lease, so a duplicate delivery waits.
    lease_until = NumberAttribute(null=True)

    by_created = PhotosByCreatedIndex()


ALL_MODELS: tuple[type[Model], ...] = (TodoModel, IdempotencyModel, PhotoModel)
