"""Everything the Lambda functions need besides app.py: config, errors, models, services."""

__version__ = "0.1.0"
