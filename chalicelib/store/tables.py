"""What every PynamoDB model shares: the process's one botocore session, the region and the
calling function's budget per call."""

from __future__ import annotations

from pynamodb.connection import TableConnection
from pynamodb.models import Model

from chalicelib.core.config import aws_region, call_budget
from chalicelib.store import aws

# Meta values are read when the class is built, which is when a service first imports a model
# (never at app import); the test stage and the sandbox set them before that.
_BUDGET = call_budget()


class TableModel(Model):
    """Every table's connection uses the one botocore session of the process: each new session
    would load botocore's endpoint and service data again (a cold start pays for every one)."""

    @classmethod
    def _get_connection(cls) -> TableConnection:
        connection = super()._get_connection()
        aws.bind(connection.connection)
        return connection


class TableMeta:
    """What every table's Meta shares: the region and the function's call budget."""

    region = aws_region()
    connect_timeout_seconds = _BUDGET.connect_timeout
    read_timeout_seconds = _BUDGET.read_timeout
    # PynamoDB counts retries; the budget counts attempts, the first included.
    max_retry_attempts = _BUDGET.max_attempts - 1
