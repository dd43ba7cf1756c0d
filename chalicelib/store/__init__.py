"""Storage shared by all domains: AWS clients (aws), PynamoDB models (models, on the base of
tables), storage helpers (storage: error translation, optimistic writes, pages), leases,
DynamoDB stream and SQS batch handling.

May import `chalicelib.core`, botocore and PynamoDB; never chalice, `web` or a domain. A model
or helper used by one domain only still lives here when it is storage (one model per table).
"""
