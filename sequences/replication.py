"""Commits that PostgreSQL made without its synchronous standby, made visible.

With synchronous replication, a COMMIT waits for the standby. If that wait is
cancelled (``pg_cancel_backend()``, or a cancel request sent by a client
library), PostgreSQL keeps the commit locally and only sends a WARNING. The
values the transaction drew are then visible to everyone on the primary, but
the standby may not have them: after a failover, they would be issued again.

This module remembers, per connection, what the current transaction drew,
listens for that warning, and after the commit logs it at CRITICAL on the
``sequences`` logger and sends :data:`sequences.signals.commit_not_replicated`.
A client that gives up on its own (a timeout, a closed socket) never receives
the warning: only a cancellation that the server reports can be seen here.
"""

from __future__ import annotations

import functools
import logging
from typing import TYPE_CHECKING, Any

from django.db.backends.signals import connection_created

from . import conf
from .signals import commit_not_replicated

if TYPE_CHECKING:
    from django.db.backends.base.base import BaseDatabaseWrapper

logger = logging.getLogger("sequences")

# PostgreSQL's message (syncrep.c) when the wait for the standby is cancelled
# but the commit stands. The server's lc_messages must be English for it to
# be recognised (the default of a C or en_* locale).
CANCELLED_WAIT = "canceling wait for synchronous replication"

# Stored on the Django connection object: one watch per PostgreSQL connection
# (and so per thread), created when it connects.
ATTRIBUTE = "_sequences_replication_watch"
# Stored on a psycopg 3 connection: [the watch of the Django connection using it].
OWNER = "_sequences_notice_owner"


def record_draw(connection: BaseDatabaseWrapper, sequence_name: str, values: range) -> None:
    """Remember that the current transaction on ``connection`` drew ``values``.

    Called once per draw; costs about a microsecond on PostgreSQL and a dict
    lookup elsewhere (``python -m benchmarks.replication_watch``).
    """
    watch = connection.__dict__.get(ATTRIBUTE)
    if watch is not None:
        watch.add(sequence_name, values)


def _listen_from_the_start(sender: Any, connection: BaseDatabaseWrapper, **kwargs: Any) -> None:
    """Watch every new PostgreSQL connection, before its first statement.

    In autocommit, a draw's own statement commits, and its warning arrives
    before :func:`record_draw` runs: the handler must already be there.
    ``SEQUENCES_REPORT_UNREPLICATED_COMMITS = False`` turns the watch off.
    """
    if connection.vendor != "postgresql" or not conf.get("SEQUENCES_REPORT_UNREPLICATED_COMMITS"):
        connection.__dict__.pop(ATTRIBUTE, None)
        return
    watch = connection.__dict__.get(ATTRIBUTE)
    if watch is None:
        watch = connection.__dict__[ATTRIBUTE] = _Watch(connection)
    watch.listen(connection.connection)


connection_created.connect(_listen_from_the_start, dispatch_uid="sequences.replication")


def _dispatch(owner: list[_Watch], diagnostic: Any) -> None:
    owner[0].on_notice(diagnostic)


class _Watch:
    """The draws of a connection's current transaction, and the server's warning."""

    __slots__ = (
        "connection",
        "driver_connection",
        "notices",
        "draws",
        "warning",
        "seen",
        "hooks",
        "report",
    )

    def __init__(self, connection: BaseDatabaseWrapper) -> None:
        self.connection = connection
        self.driver_connection: Any = None
        self.notices: list[str] | None = None  # psycopg2's list of notices
        self.draws: list[tuple[str, range]] = []
        self.warning: str | None = None
        self.seen: object = None  # psycopg2: the last notice already looked at
        self.hooks: object = None  # the on_commit list that holds self.report
        self.report = self._report  # one bound method, so that `is` finds it

    def add(self, sequence_name: str, values: range) -> None:
        connection = self.connection
        driver_connection = connection.connection
        if driver_connection is not self.driver_connection:
            self.listen(driver_connection)
        if connection.in_atomic_block:
            hooks = connection.run_on_commit
            # Django replaces the list at commit, rollback and savepoint
            # rollback: the same list still holds the report (fast path).
            if hooks is self.hooks or (hooks and any(hook[1] is self.report for hook in hooks)):
                self.draws.append((sequence_name, values))
                self.hooks = hooks
                return
            # A new transaction (or the one that registered the report was
            # rolled back to a savepoint): start again.
            self.draws = [(sequence_name, values)]
            # A warning that came before this transaction's first draw is not its own.
            self.warning = None
            if self.notices:
                self.seen = self.notices[-1]
            connection.on_commit(self.report, robust=True)
            self.hooks = connection.run_on_commit
        elif connection.autocommit:
            # The draw's own statement committed: any warning came with it.
            self.draws = [(sequence_name, values)]
            self._report()
        # Manual transaction management (AUTOCOMMIT False, outside atomic):
        # Django has no commit hook to run, so nothing is watched.

    def listen(self, driver_connection: Any) -> None:
        self.driver_connection = driver_connection
        self.warning = None
        self.seen = None
        add_handler = getattr(driver_connection, "add_notice_handler", None)
        if add_handler is not None:  # psycopg 3 calls it as notices arrive
            self.notices = None
            # A pool (Django's OPTIONS["pool"]) hands a driver connection to
            # one Django connection after another: one handler per driver
            # connection, reporting to the watch that uses it now.
            owner = getattr(driver_connection, OWNER, None)
            if owner is None:
                owner = [self]
                setattr(driver_connection, OWNER, owner)
                add_handler(functools.partial(_dispatch, owner))
            owner[0] = self
        else:  # psycopg2 appends them to connection.notices
            self.notices = getattr(driver_connection, "notices", None)
            self.seen = self.notices[-1] if self.notices else None

    def on_notice(self, diagnostic: Any) -> None:
        primary = diagnostic.message_primary or ""
        if CANCELLED_WAIT in primary:
            # As psycopg2 words its notices, so that receivers see one format.
            detail = diagnostic.message_detail
            self.warning = f"{diagnostic.severity}: {primary}" + (
                f" DETAIL: {detail}" if detail else ""
            )

    def _take_warning(self) -> str | None:
        warning, self.warning = self.warning, None
        if warning is not None:
            return warning
        notices = self.notices
        if not notices:
            return None
        seen, self.seen = self.seen, notices[-1]
        for notice in reversed(notices):  # the new ones only (the list holds 50 at most)
            if notice is seen:
                break
            if CANCELLED_WAIT in notice:
                return " ".join(notice.split())
        return None

    def _report(self) -> None:
        draws, self.draws = self.draws, []
        self.hooks = None
        warning = self._take_warning()
        if warning is None or not draws:
            return
        from .models import Sequence

        alias = self.connection.alias
        logger.critical(
            "Database %r committed values that its synchronous standby may not have: %s. "
            "After a failover they would be issued again. Server: %s",
            alias,
            ", ".join(f"{name} {_span(values)}" for name, values in draws),
            warning,
        )
        commit_not_replicated.send(
            sender=Sequence, using=alias, draws=tuple(draws), message=warning
        )


def _span(values: range) -> str:
    return str(values[0]) if len(values) == 1 else f"{values[0]} to {values[-1]}"
