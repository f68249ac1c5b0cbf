"""structlog set-up: one event per step per object, JSON lines on stderr, secrets masked."""

from __future__ import annotations

import logging
import sys
import uuid
from typing import Any, TextIO

import stamina
import structlog

from reconciler.scim.redact import redact_processor

LEVELS = ("debug", "info", "warning", "error")
FORMATS = ("json", "console")
# The format `--log-format` asked for (None: decide by the terminal). The option is read by
# click before the command runs, and the command configures logging itself, so the choice
# waits here; every invocation sets it again, so one run never inherits another's.
_chosen: dict[str, str | None] = {"format": None}


def choose_format(fmt: str | None) -> None:
    """Record `--log-format` for the next `configure` (None: JSON lines unless a terminal)."""
    if fmt is not None and fmt not in FORMATS:
        raise ValueError(f"unknown log format {fmt!r}")
    _chosen["format"] = fmt


class _Stderr:
    """Writes to whatever sys.stderr is at the moment (test runners swap it)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def default_level() -> str:
    """A person at a terminal wants the plan: warnings and errors only. Logs to a file or a
    pipe (CI, a log collector) stay complete: every event from info up."""
    return "warning" if sys.stderr.isatty() else "info"


def configure(level: str | None = None, *, json_lines: bool | None = None) -> None:
    """Configure once per run: JSON lines unless stderr is a terminal, then readable lines
    (or as `--log-format` chose); `level` None is `default_level()`."""
    level = level or default_level()
    stream: TextIO = _Stderr()  # type: ignore[assignment]
    if json_lines is None and _chosen["format"] is not None:
        json_lines = _chosen["format"] == "json"
    if json_lines is None:
        json_lines = not sys.stderr.isatty()
    renderer: Any = (
        structlog.processors.JSONRenderer(sort_keys=False)
        if json_lines
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            redact_processor,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(
            getattr(logging, level.upper(), logging.INFO)
        ),
        logger_factory=structlog.WriteLoggerFactory(file=stream),
        cache_logger_on_first_use=False,
    )
    # The retry library's events go through the same pipeline, in scimrec's words.
    stamina.instrumentation.set_on_retry_hooks([retry_event])


def retry_event(details: stamina.instrumentation.RetryDetails) -> None:
    """One retry scheduled by stamina: said once per request, at warning, with the reason
    (later attempts of the same request at debug), carrying the run's context."""
    cause = getattr(details.caused_by, "cause", details.caused_by)  # the client's Retry
    level = "warning" if details.retry_num == 1 else "debug"
    getattr(structlog.get_logger(), level)(
        "retrying",
        reason=" ".join(str(cause).split()) or type(cause).__name__,
        attempt=details.retry_num + 1,
        wait_seconds=round(details.wait_for, 2),
        waited_seconds=round(details.waited_so_far, 2),
        detail="trying again with backoff",
    )


def start_run(target: str) -> Any:
    """A logger bound to a fresh run id and the target name, for every event of this run.

    Bound on the logger, so that events logged through it carry them in any thread; and in
    this thread's context variables, so that every other event of the run does too (the
    retry library's; apply hands a copy of the context to each of its worker threads).
    """
    run_id = uuid.uuid4().hex[:12]
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(target=target, run_id=run_id)
    return structlog.get_logger().bind(target=target, run_id=run_id)
