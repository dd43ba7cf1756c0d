"""The static blog site under site/, served locally with a generated config.js naming the API."""

from __future__ import annotations

import functools
import io
import json
import os
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from deploy.site import CONTENT_TYPES, page_body
from sandbox.serving import ThreadedServer
from sandbox.settings import ROOT, SandboxError

SITE_DIR = ROOT / "site"
CONFIG_PATH = "/config.js"


def config_script(api_url: str) -> bytes:
    """The config.js a deployment writes: the API's base URL, for the site's scripts."""
    config = json.dumps({"apiUrl": api_url.rstrip("/")})
    return f"window.MYTODOLIST_CONFIG = {config};\n".encode()


class SiteRequestHandler(SimpleHTTPRequestHandler):
    """Files under the site directory, and config.js; no directory listings, nothing cached."""

    extensions_map = CONTENT_TYPES
    server_version = "MyTodoListSandboxSite"

    def __init__(self, *args: Any, directory: str, config: bytes, api_url: str) -> None:
        self._config = config
        self._api_url = api_url
        super().__init__(*args, directory=directory)

    def send_head(self) -> Any:
        path = self.path.split("?", 1)[0].split("#", 1)[0]
        if path == CONFIG_PATH:
            self.send_response(HTTPStatus.OK)
            self.send_header("Content-Type", CONTENT_TYPES[".js"])
            self.send_header("Content-Length", str(len(self._config)))
            self.end_headers()
            return io.BytesIO(self._config)
        if any(part.startswith(".") for part in unquote(path).split("/")):
            # Dotfiles (.gitignore and the like) are not part of the site.
            self.send_error(HTTPStatus.NOT_FOUND, "File not found")
            return None
        if path.endswith("/"):
            path += "index.html"
        page = Path(self.translate_path(path))
        if page.suffix == ".html" and page.is_file():
            # As the deploy uploads it: with the API's URL filled in.
            body = page_body(page, self._api_url)
            self.send_response(HTTPStatus.OK)
            self.send_header("Content-Type", CONTENT_TYPES[".html"])
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            return io.BytesIO(body)
        return super().send_head()

    def list_directory(self, path: str | os.PathLike[str]) -> None:
        self.send_error(HTTPStatus.NOT_FOUND, "File not found")

    def end_headers(self) -> None:
        # Every reload shows the file as it is now: this is a development server.
        self.send_header("Cache-Control", "no-cache")
        self.send_header("X-Content-Type-Options", "nosniff")
        super().end_headers()

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        # Page loads fetch a handful of files each; only failures are worth the log's space.
        if isinstance(code, HTTPStatus):
            code = code.value
        if isinstance(code, int) and code >= 400:
            super().log_request(code, size)


class SiteServer(ThreadedServer):
    """A sandbox component: the blog site on a thread, with config.js pointing at api_url."""

    name = "site"

    def __init__(self, host: str, port: int, api_url: str, directory: Path = SITE_DIR) -> None:
        super().__init__(host, port)
        self._api_url = api_url
        self._directory = directory

    def _bind(self) -> ThreadingHTTPServer:
        if not (self._directory / "index.html").is_file():
            raise SandboxError(f"no site to serve: {self._directory / 'index.html'} is missing")
        handler = functools.partial(
            SiteRequestHandler,
            directory=str(self._directory),
            config=config_script(self._api_url),
            api_url=self._api_url,
        )
        try:
            return ThreadingHTTPServer((self._host, self._port), handler)
        except OSError as e:
            raise self.cannot_listen("the site", "SANDBOX_SITE_PORT", e) from e
