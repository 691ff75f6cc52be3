from django.apps import AppConfig

from sequences.apps import SequencesConfig


class RelabelledSequencesConfig(SequencesConfig):
    """The sequences app under another label: its tables become gapless_*."""

    label = "gapless"


class SequencesLabelClashConfig(AppConfig):
    """Another app that holds the label ``sequences`` (the reason to relabel)."""

    name = "tests"
    label = "sequences"
