"""Entry point of `python -m sandbox`: hands the command line to the dev CLI."""

from sandbox.cli import main

raise SystemExit(main())
