"""The control plane's HTTP server log, for aiohttp's request handler.

A request aiohttp cannot parse (a line longer than 8190 bytes, a bad header, bytes that are
not HTTP) is answered 400 by aiohttp and is a broken or hostile client, not a server error:
it is logged as one WARNING line without a traceback, and counted. Everything else passes
through unchanged.
"""

from __future__ import annotations

import logging
from typing import Any

from aiohttp.http_exceptions import HttpProcessingError

__all__ = ["HttpLog"]

MAX_DETAIL = 200  # characters of aiohttp's message kept in the line (it quotes the bad bytes)


class HttpLog(logging.LoggerAdapter):
    """Pass as `logger=` to aiohttp's `AppRunner`; `bad_requests` counts refused requests."""

    def __init__(self, name: str = "sipconf.local.http") -> None:
        super().__init__(logging.getLogger(name), {})
        self.bad_requests = 0

    def log(self, level: int, msg: object, *args: Any, exc_info: Any = None, **kwargs: Any) -> None:
        if isinstance(exc_info, HttpProcessingError):
            self.bad_requests += 1
            remote = args[0] if args else "?"
            self.logger.warning("refused a malformed HTTP request from %s: %s", remote, _one_line(exc_info))
            return
        super().log(level, msg, *args, exc_info=exc_info, **kwargs)


def _one_line(err: HttpProcessingError) -> str:
    text = " ".join(f"{err.code} {err.message}".split())
    return text if len(text) <= MAX_DETAIL else text[: MAX_DETAIL - 3] + "..."
