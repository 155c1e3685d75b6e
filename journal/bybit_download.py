"""Bybit's public daily archives, downloaded resumably and checked before anyone reads them.

Where Bybit publishes them (no key needed):

- order book: ``https://quote-saver.bycsi.com/orderbook/{linear|spot}/{SYMBOL}/``
  ``{YYYY-MM-DD}_{SYMBOL}_ob{depth}.data.zip`` (derivatives ``ob500``, from 2025 also
  ``ob200``; spot ``ob200``), the format ``journal.bybit_archive`` imports;
- trades: ``https://public.bybit.com/trading/{SYMBOL}/{SYMBOL}{YYYY-MM-DD}.csv.gz``.

A download goes to ``<name>.part`` in the cache directory and is renamed to ``<name>`` only
once complete and checked, so the cache never holds a damaged file under a final name. A
dropped connection is resumed with an HTTP ``Range`` request from the bytes already on disk,
in the same run (``retries`` times) or in the next one (a ``.part`` left by a killed run).

Checks, as far as Bybit gives them: the length the server announced; the MD5 when the server
states one (``Content-MD5``, or an ``ETag`` that is a plain MD5 as S3 and most CDNs send for
a file uploaded whole); and the archive's own CRC-32s (every zip member, the gzip trailer),
which are read in full. A mismatch removes the download and says so.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import http.client
import os
import re
import urllib.error
import urllib.request
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from journal.errors import DownloadError

__all__ = [
    "ORDERBOOK_BASE",
    "TRADES_BASE",
    "Download",
    "NotFound",
    "fetch",
    "orderbook_url",
    "trades_url",
]

ORDERBOOK_BASE: Final = "https://quote-saver.bycsi.com"
TRADES_BASE: Final = "https://public.bybit.com"
_CHUNK: Final = 1 << 16
_MD5_ETAG: Final = re.compile(r'^(?:W/)?"?([0-9a-fA-F]{32})"?$')


def orderbook_url(base: str, category: str, symbol: str, date: str, depth: int) -> str:
    name = f"{date}_{symbol}_ob{depth}.data.zip"
    return f"{base.rstrip('/')}/orderbook/{category}/{symbol}/{name}"


def trades_url(base: str, symbol: str, date: str) -> str:
    return f"{base.rstrip('/')}/trading/{symbol}/{symbol}{date}.csv.gz"


@dataclass(frozen=True, slots=True)
class Download:
    """A checked archive in the cache and how it got there."""

    path: Path
    size: int
    resumed_from: int  # bytes already on disk when this run started (0: a fresh download)
    requests: int  # HTTP requests this run made (more than one: resumed after a drop)
    md5_checked: bool


class NotFound(DownloadError):
    """The server has no such archive (HTTP 404)."""


def fetch(
    url: str,
    cache: Path,
    *,
    retries: int = 3,
    timeout: float = 60.0,
    on_total: Callable[[int, int], object] | None = None,
    on_bytes: Callable[[int], object] | None = None,
) -> Download:
    """``url`` into ``cache`` (resuming a ``.part``), checked. ``on_total(total, have)`` is
    told the file's size and the bytes already there; ``on_bytes(n)`` each chunk."""
    cache.mkdir(parents=True, exist_ok=True)
    final = cache / url.rsplit("/", 1)[1]
    if final.is_file():
        _check_archive(final)
        size = final.stat().st_size
        if on_total is not None:
            on_total(size, size)
        return Download(final, size, size, 0, md5_checked=False)
    part = final.with_name(final.name + ".part")
    resumed_from = part.stat().st_size if part.is_file() else 0
    md5: str | None = None
    attempt = 0
    while True:
        attempt += 1
        try:
            md5, total = _get(url, part, timeout, on_total, on_bytes)
            break
        except NotFound:
            part.unlink(missing_ok=True)
            raise
        except (OSError, http.client.HTTPException) as exc:
            if attempt > retries:
                have = part.stat().st_size if part.is_file() else 0
                kept = f"{have} bytes kept in {part} (run again to resume)" if have else ""
                raise DownloadError(
                    f"{url}: {_why(exc)}; gave up after {attempt} attempts"
                    + (f", {kept}" if kept else "")
                ) from None
    size = part.stat().st_size
    if total is not None and size != total:
        part.unlink()
        raise DownloadError(f"{url}: got {size} bytes, the server announced {total}; removed")
    if md5 is not None:
        digest = _md5(part)
        if digest != md5:
            part.unlink()
            raise DownloadError(
                f"{url}: checksum mismatch (MD5 {digest}, the server states {md5}); "
                "the download was removed, run again"
            )
    try:
        _check_archive(part, final.name)
    except DownloadError:
        part.unlink()
        raise
    os.replace(part, final)
    return Download(final, size, resumed_from, attempt, md5_checked=md5 is not None)


def _why(exc: BaseException) -> str:
    if isinstance(exc, urllib.error.URLError) and not isinstance(exc, urllib.error.HTTPError):
        return f"cannot connect ({exc.reason})"
    return str(exc) or type(exc).__name__


def _get(
    url: str,
    part: Path,
    timeout: float,
    on_total: Callable[[int, int], object] | None,
    on_bytes: Callable[[int], object] | None,
) -> tuple[str | None, int | None]:
    """One request appending to ``part`` from its current size: (stated MD5, total size)."""
    have = part.stat().st_size if part.is_file() else 0
    request = urllib.request.Request(url, headers={"User-Agent": "asn-journal"})
    if have:
        request.add_header("Range", f"bytes={have}-")
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and have:  # the range starts at the end: nothing left to get
            return None, have
        if exc.code == 404:
            raise NotFound(f"{url}: not found (HTTP 404): Bybit has no such archive") from None
        raise DownloadError(f"{url}: HTTP {exc.code} {exc.reason}") from None
    with response:
        if response.status == 200 and have:  # the server ignored the range: start again
            have = 0
        length = response.headers.get("Content-Length")
        total = have + int(length) if length is not None else None
        md5 = _stated_md5(response.headers, partial=response.status == 206)
        if on_total is not None:
            on_total(total or 0, have)
        with part.open("r+b" if have else "wb") as out:
            out.seek(have)
            out.truncate()
            while chunk := response.read(_CHUNK):
                out.write(chunk)
                if on_bytes is not None:
                    on_bytes(len(chunk))
            if total is not None and out.tell() < total:
                raise http.client.IncompleteRead(b"", total - out.tell())
    return md5, total


def _stated_md5(headers: http.client.HTTPMessage, *, partial: bool) -> str | None:
    """The whole file's MD5 if the server states one. ``Content-MD5`` of a 206 is the part's,
    so only the ``ETag`` (the file's) counts then."""
    content_md5 = headers.get("Content-MD5")
    if content_md5 and not partial:
        try:
            return base64.b64decode(content_md5, validate=True).hex()
        except ValueError:
            return None
    match = _MD5_ETAG.match(headers.get("ETag", ""))
    return match.group(1).lower() if match else None


def _md5(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _check_archive(path: Path, name: str | None = None) -> None:
    """Read every byte through the archive's own CRC-32 (zip members, gzip trailer)."""
    label = name or path.name
    try:
        if label.endswith(".zip"):
            with zipfile.ZipFile(path) as archive:
                bad = archive.testzip()
            if bad is not None:
                raise DownloadError(f"{path}: member {bad} fails its CRC-32")
        elif label.endswith(".gz"):
            with gzip.open(path) as f:
                while f.read(1 << 20):
                    pass
    except (zipfile.BadZipFile, EOFError, zlib.error, gzip.BadGzipFile, OSError) as exc:
        raise DownloadError(f"{path}: damaged archive ({exc})") from None
