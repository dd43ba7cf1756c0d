"""The blog site to its bucket with a generated config.js, then a CloudFront invalidation."""

from __future__ import annotations

import html
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Final

from deploy import ROOT

if TYPE_CHECKING:
    from mypy_boto3_cloudfront import CloudFrontClient
    from mypy_boto3_s3 import S3Client

SITE_DIR: Final = ROOT / "site"
CONFIG_KEY: Final = "config.js"
# Not part of the published site: the local config and its example.
SKIPPED: Final = frozenset({"config.js", "config.example.js"})
# Fixed here rather than guessed from the machine's mime.types: module scripts refuse to run
# under any other type, and text needs its charset. The sandbox serves the site with these too.
CONTENT_TYPES: Final = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".json": "application/json",
    ".webmanifest": "application/manifest+json",
    ".txt": "text/plain; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".webp": "image/webp",
    ".ico": "image/x-icon",
    ".woff2": "font/woff2",
}
# Pages and config.js are revalidated on every visit (they name the other files, and the API);
# the rest may be reused for a few minutes: file names carry no content hash.
REVALIDATE: Final = "no-cache"
SHORT_LIVED: Final = "public, max-age=300"


def config_script(api_url: str) -> bytes:
    """The config.js the site's pages load: the API's base URL (as the sandbox writes it)."""
    config = json.dumps({"apiUrl": api_url.rstrip("/")})
    return f"window.MYTODOLIST_CONFIG = {config};\n".encode()


# Pages name the API where a static page must (the feed link in <head>, which feed readers
# read without running scripts); the deploy and the sandbox fill it in when they serve a page.
API_URL_MARK: Final = b"{{API_URL}}"


def page_body(path: Path, api_url: str) -> bytes:
    """A file of the site as served: pages with the API's URL filled in, others as they are."""
    data = path.read_bytes()
    if path.suffix.lower() != ".html":
        return data
    return data.replace(API_URL_MARK, html.escape(api_url.rstrip("/")).encode())


def site_files(site_dir: Path = SITE_DIR) -> Iterator[tuple[str, Path]]:
    """(key, file) for every file of the site, without dotfiles and the local config."""
    for path in sorted(site_dir.rglob("*")):
        relative = path.relative_to(site_dir)
        if not path.is_file() or any(part.startswith(".") for part in relative.parts):
            continue
        if relative.as_posix() in SKIPPED:
            continue
        yield relative.as_posix(), path


def _content_type(key: str) -> str:
    return CONTENT_TYPES.get(Path(key).suffix.lower(), "application/octet-stream")


def _cache_control(key: str) -> str:
    return REVALIDATE if key.endswith(".html") or key == CONFIG_KEY else SHORT_LIVED


def upload_site(s3: S3Client, bucket: str, api_url: str, site_dir: Path = SITE_DIR) -> list[str]:
    """Upload the site and its config.js; delete what the site no longer has. Returns the keys."""
    keys: list[str] = []
    for key, path in site_files(site_dir):
        s3.put_object(
            Bucket=bucket,
            Key=key,
            Body=page_body(path, api_url),
            ContentType=_content_type(key),
            CacheControl=_cache_control(key),
        )
        keys.append(key)
    s3.put_object(
        Bucket=bucket,
        Key=CONFIG_KEY,
        Body=config_script(api_url),
        ContentType=_content_type(CONFIG_KEY),
        CacheControl=_cache_control(CONFIG_KEY),
    )
    keys.append(CONFIG_KEY)
    wanted = set(keys)
    stale = [
        obj["Key"]
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
        for obj in page.get("Contents", [])
        if obj["Key"] not in wanted
    ]
    for start in range(0, len(stale), 1000):
        batch = stale[start : start + 1000]
        s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": k} for k in batch]})
    return keys


def invalidate(cloudfront: CloudFrontClient, distribution_id: str) -> str:
    """Invalidate every path (one wildcard path costs as much as one file); returns its id."""
    result = cloudfront.create_invalidation(
        DistributionId=distribution_id,
        InvalidationBatch={
            "Paths": {"Quantity": 1, "Items": ["/*"]},
            "CallerReference": f"deploy-{time.time_ns()}",
        },
    )
    return result["Invalidation"]["Id"]
