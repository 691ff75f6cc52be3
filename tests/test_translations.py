"""Translations: the admin speaks French, German and Spanish; the catalogues stay current."""

from __future__ import annotations

import os
import shutil
from io import StringIO
from pathlib import Path

import pytest
from django.contrib.admin.models import LogEntry
from django.core.management import call_command
from django.utils import translation

from sequences import get_next_value, reset_sequence
from sequences.models import SequenceChange

from .admin_helpers import RESET, client_for, make_sequence, make_user, url
from .translations import ROOT, check, missing_gettext

NBSP = "\u00a0"  # French puts one before a colon and inside guillemets


def french_quoted(text: str) -> str:
    return f"«{NBSP}{text}{NBSP}»"


# The catalogues


@pytest.fixture
def gettext_tools() -> None:
    """GNU gettext, which makemessages and msgfmt are; mandatory under CI=true."""
    reason = missing_gettext()
    if reason is None:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI must check the translations: {reason}")
    pytest.skip(reason)


@pytest.fixture
def admin_copy(tmp_path: Path) -> Path:
    """A scratch copy of ``sequences_admin`` (sources and catalogues) to make stale."""
    shutil.copytree(
        ROOT / "sequences_admin",
        tmp_path / "sequences_admin",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    return tmp_path


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text("utf-8")
    assert old in text, f"{old!r} is not in {path}"
    path.write_text(text.replace(old, new), "utf-8")


def test_shipped_catalogues_are_current(gettext_tools):
    """What `make messages-check` runs: makemessages would change nothing, the .mo are fresh."""
    assert check() == []


def test_check_reports_a_new_string_in_every_language(gettext_tools, admin_copy):
    forms = admin_copy / "sequences_admin" / "forms.py"
    forms.write_text(forms.read_text("utf-8") + '\nNEW = _("A string nobody translated")\n')

    problems = check(admin_copy, apps=["sequences_admin"])

    assert len(problems) == 3
    for problem, lang in zip(problems, ["de", "es", "fr"], strict=True):
        assert problem.startswith(f"sequences_admin/locale/{lang}/LC_MESSAGES/django.po: ")
        assert "1 new or untranslated: 'A string nobody translated'" in problem


def test_check_reports_a_changed_string_as_fuzzy(gettext_tools, admin_copy):
    edit(
        admin_copy / "sequences_admin" / "forms.py",
        '_("New next value")',
        '_("New next value to hand out")',
    )

    problems = check(admin_copy, apps=["sequences_admin"])

    assert len(problems) == 3
    assert all("1 fuzzy: 'New next value to hand out'" in problem for problem in problems)


def test_check_reports_a_string_gone_from_the_source(gettext_tools, admin_copy):
    edit(
        admin_copy / "sequences_admin" / "templates" / "sequences_admin" / "name_filter.html",
        """ placeholder="{% translate 'exact name' %}\"""",
        "",
    )

    problems = check(admin_copy, apps=["sequences_admin"])

    assert len(problems) == 3
    assert all("1 obsolete (gone from the source): 'exact name'" in p for p in problems)


def test_check_reports_a_mo_not_compiled_from_the_current_po(gettext_tools, admin_copy):
    edit(
        admin_copy / "sequences_admin" / "locale" / "fr" / "LC_MESSAGES" / "django.po",
        'msgstr "Motif"',
        'msgstr "Raison"',
    )

    assert check(admin_copy, apps=["sequences_admin"]) == [
        "sequences_admin/locale/fr/LC_MESSAGES/django.mo is not compiled from the current .po."
    ]


def test_check_reports_a_missing_mo(gettext_tools, admin_copy):
    (admin_copy / "sequences_admin" / "locale" / "de" / "LC_MESSAGES" / "django.mo").unlink()

    assert check(admin_copy, apps=["sequences_admin"]) == [
        "sequences_admin/locale/de/LC_MESSAGES/django.mo is missing."
    ]


# The admin in French: LANGUAGE_CODE = "fr", as a French project sets it


@pytest.fixture
def french(settings):
    settings.LANGUAGE_CODE = "fr"  # resets Django's active and default translations


@pytest.fixture
def invoices(in_transaction):
    return make_sequence("invoices", 42)


@pytest.fixture
def resetter(in_transaction):
    return make_user("resetter", *RESET)


def test_sequence_list_in_french(french, resetter, invoices):
    response = client_for(resetter).get(url("sequence_changelist"))

    assert response.status_code == 200
    assert response.context["title"] == "Sélectionnez l’objet séquence à afficher"
    for label in ["Séquences", "Nom", "Dernière valeur", "Valeur suivante"]:
        assert label in response.text
    assert "Dernière modification auditée" in response.text
    assert "Next value" not in response.text
    assert "Last audited change" not in response.text


def test_sequence_page_in_french(french, resetter, invoices):
    reset_sequence("invoices", 50, expected_last=42, reason="clôture")

    response = client_for(resetter).get(url("sequence_change", "invoices"))

    assert response.status_code == 200
    for label in [
        "Réinitialiser…",
        "Modifications auditées récentes",
        "Dernière valeur avant",
        "Origine",
        "<td>réinitialisation</td>",
        "<td>code</td>",
        "Toutes les modifications auditées de cette séquence",
    ]:
        assert label in response.text
    assert "Recent audited changes" not in response.text


def test_reset_page_in_french(french, resetter, invoices):
    response = client_for(resetter).get(url("sequence_reset", "invoices"))

    assert response.status_code == 200
    assert response.context["title"] == f"Réinitialiser la séquence {french_quoted('invoices')}"
    for label in [
        "Accueil",
        "État actuel",
        f"Dernière valeur attribuée{NBSP}:",
        f"Valeur suivante{NBSP}:",
        "Nouvel état",
        "Nouvelle valeur suivante",
        "La valeur que renverra le prochain appel à get_next_value().",
        "Motif",
        "Requis. Conservé dans le journal d’audit avec votre nom d’utilisateur.",
        'value="Réinitialiser la séquence"',
        "Annuler",
    ]:
        assert label in response.text
    assert "Current state" not in response.text
    assert "New next value" not in response.text


def test_reset_page_asks_in_french_before_issuing_values_again(french, resetter, invoices):
    data = {"next_value": 10, "expected_last": 42, "reason": "erreur de saisie"}

    response = client_for(resetter).post(url("sequence_reset", "invoices"), data)

    assert response.status_code == 200
    assert "Les valeurs de 10 à 42 ont déjà été attribuées." in response.text
    assert (
        "Cochez cette case pour confirmer que les valeurs de 10 à 42 seront attribuées "
        "une seconde fois, ou choisissez une valeur suivante supérieure à 42."
    ) in response.text
    assert "Je comprends que ces valeurs seront attribuées une seconde fois." in response.text
    assert not SequenceChange.objects.exists()


def test_reset_conflict_is_explained_in_french(french, resetter, invoices):
    get_next_value("invoices")  # 43 is issued while the page is open
    data = {"next_value": 100, "expected_last": 42, "reason": "ouverture"}

    response = client_for(resetter).post(url("sequence_reset", "invoices"), data)

    assert response.status_code == 200
    assert (
        f"La séquence a changé pendant que cette page était ouverte{NBSP}: sa dernière "
        "valeur était 42, elle est maintenant 43. Rien n’a été modifié."
    ) in response.text
    assert not SequenceChange.objects.exists()


def test_reset_confirmation_and_history_in_french(french, resetter, invoices):
    client = client_for(resetter)
    data = {"next_value": 100, "expected_last": 42, "reason": "ouverture"}

    page = client.post(url("sequence_reset", "invoices"), data, follow=True)

    assert (
        f"La séquence {french_quoted('invoices')} a été réinitialisée{NBSP}: "
        "sa valeur suivante est 100."
    ) in page.text
    assert LogEntry.objects.get().get_change_message() == (
        f"Réinitialisation{NBSP}: valeur suivante 100 (auparavant 43). Motif{NBSP}: ouverture"
    )


def test_audit_list_and_record_in_french(french, resetter, invoices):
    change = reset_sequence("invoices", 10, expected_last=42, reason="x", allow_reuse=True)
    client = client_for(resetter)

    listing = client.get(url("sequencechange_changelist"))
    record = client.get(url("sequencechange_change", str(change.pk)))

    assert listing.status_code == record.status_code == 200
    for label in [
        "Modifications de séquence",
        "Dernière valeur",
        "réinitialisation (valeurs attribuées une seconde fois)",  # the action column
        "Par réutilisation autorisée",  # the filter that replaced the column
        "Origine",
        "réinitialisation",
        " Par séquence ",
        'value="Filtrer"',
        'placeholder="nom exact"',
        "commande de gestion",  # a choice of the source filter
    ]:
        assert label in listing.text, label
    assert "Sequence changes" not in listing.text
    assert f"réinitialisation de {french_quoted('invoices')}{NBSP}: 42 → 9 (code)" in record.text
    assert "Alias de base de données" in record.text
    assert "des valeurs déjà attribuées le sont une seconde fois" in record.text  # its help text


def test_command_output_stays_english(french, invoices):
    reset_sequence("invoices", 50, expected_last=42, reason="clôture", source="command")
    out = StringIO()

    call_command("sequence_show", stdout=out)

    assert "NAME" in out.getvalue()
    assert "reset" in out.getvalue()
    assert "(command)" in out.getvalue()
    assert "réinitialisation" not in out.getvalue()


# Every shipped language, chosen by the browser through LocaleMiddleware

LABELS = {
    "fr": (
        "Séquences",
        "Valeur suivante",
        "Réinitialiser la séquence",
        "Nouvelle valeur suivante",
    ),
    "de": ("Sequenzen", "Nächster Wert", "Sequenz zurücksetzen", "Neuer nächster Wert"),
    "es": ("Secuencias", "Valor siguiente", "Restablecer la secuencia", "Nuevo valor siguiente"),
}


@pytest.fixture
def locale_middleware(settings):
    middleware = list(settings.MIDDLEWARE)
    sessions = middleware.index("django.contrib.sessions.middleware.SessionMiddleware")
    middleware.insert(sessions + 1, "django.middleware.locale.LocaleMiddleware")
    settings.MIDDLEWARE = middleware
    yield
    # The middleware leaves the request's language active in this thread.
    translation.deactivate()


@pytest.mark.parametrize("lang", sorted(LABELS))
def test_admin_in_the_browsers_language(locale_middleware, resetter, invoices, lang):
    plural, next_value, reset, new_next_value = LABELS[lang]
    client = client_for(resetter)

    listing = client.get(url("sequence_changelist"), headers={"accept-language": lang})
    reset_page = client.get(url("sequence_reset", "invoices"), headers={"accept-language": lang})

    assert listing["Content-Language"] == reset_page["Content-Language"] == lang
    assert plural in listing.text and next_value in listing.text
    assert reset in reset_page.text and new_next_value in reset_page.text
    assert "New next value" not in reset_page.text
