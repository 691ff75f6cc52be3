"""Signals sent by ``sequences``."""

from __future__ import annotations

from django.dispatch import Signal

#: A transaction that drew values committed on the PostgreSQL primary, but
#: its wait for the synchronous standby was cancelled: the standby may not
#: have it, and after a failover the same values would be issued again.
#: Sent after the commit with ``sender`` the ``Sequence`` model and:
#:
#: - ``using``: the database alias;
#: - ``draws``: a tuple of ``(sequence_name, values)`` pairs, ``values`` a
#:   ``range``, in the order the transaction drew them;
#: - ``message``: the server's warning, as it sent it.
#:
#: See ``docs/multi-server.md``. The ``sequences`` logger also logs it at
#: CRITICAL.
commit_not_replicated = Signal()
