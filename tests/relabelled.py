from sequences.apps import SequencesConfig


class RelabelledSequencesConfig(SequencesConfig):
    """The sequences app under another label: its tables become gapless_*."""

    label = "gapless"
