from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from .validation import visible_name


class Sequence(models.Model):
    """One named gap-less sequence: the last value handed out.

    Same table (``sequences_sequence``) and columns as django-sequences 3.1.
    """

    name = models.CharField(verbose_name=_("name"), max_length=100, primary_key=True)
    last = models.PositiveBigIntegerField(verbose_name=_("last value"))

    class Meta:
        verbose_name = _("sequence")
        verbose_name_plural = _("sequences")
        permissions = [("reset_sequence", _("Can reset sequence"))]

    def __str__(self) -> str:
        # What a person reads: the admin's titles, breadcrumbs and history.
        # (django-sequences 3.1 returned the repr below.) A name made of
        # spaces would read as nothing there, so such names are quoted.
        return visible_name(self.name)

    def __repr__(self) -> str:
        return f"Sequence(name={self.name!r}, last={self.last!r})"


class SequenceChange(models.Model):
    """An append-only record of a change that did not come from ``get_next_value``.

    Written in the same transaction, on the same database, as the change it
    describes. The user is kept as an id and a username snapshot rather than a
    foreign key, so that deleting a user neither erases history nor is blocked
    by it, and so that ``sequences`` does not require ``django.contrib.auth``.
    """

    class Action(models.TextChoices):
        # Translators: the choices name what a change did, as nouns where the
        # language prefers them (the audit list's "action" column).
        INIT = "init", _("initialise")
        RESET = "reset", _("reset")
        SEED = "seed", _("seed")
        DELETE = "delete", _("delete")
        #: Name matching changed (``sequence_collation``): the row is unchanged.
        COLLATION = "collation", _("change name matching")

    class Source(models.TextChoices):
        # Translators: where a change came from; "admin" is the Django admin site.
        ADMIN = "admin", _("admin")
        COMMAND = "command", _("management command")
        MIGRATION = "migration", _("migration")
        CODE = "code", _("code")

    sequence_name = models.CharField(_("sequence"), max_length=100, db_index=True)
    database = models.CharField(_("database alias"), max_length=100)
    action = models.CharField(_("action"), max_length=10, choices=Action.choices)
    last_before = models.PositiveBigIntegerField(
        _("last value before"), null=True, blank=True, help_text=_("Empty: did not exist.")
    )
    last_after = models.PositiveBigIntegerField(
        _("last value after"), null=True, blank=True, help_text=_("Empty: deleted.")
    )
    allow_reuse = models.BooleanField(
        _("reuse allowed"),
        default=False,
        help_text=_("The change moved the sequence back, so values are issued again."),
    )
    reason = models.TextField(_("reason"), blank=True)
    source = models.CharField(_("source"), max_length=10, choices=Source.choices)
    user_id = models.CharField(_("user id"), max_length=255, null=True, blank=True)
    username = models.CharField(_("username"), max_length=255, blank=True)
    created_at = models.DateTimeField(_("time"), default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("sequence change")
        verbose_name_plural = _("sequence changes")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        # The title of the record's admin page, so in the reader's language.
        return gettext("%(action)s “%(name)s”: %(before)s → %(after)s (%(source)s)") % {
            "action": self.get_action_display(),
            "name": self.sequence_name,
            "before": "-" if self.last_before is None else self.last_before,
            "after": "-" if self.last_after is None else self.last_after,
            "source": self.get_source_display(),
        }
