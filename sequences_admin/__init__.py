"""A read-only admin for django-sequences, with one guarded, audited way to reset.

Add ``"sequences"`` and ``"sequences_admin"`` to ``INSTALLED_APPS``.
"""
