#!/usr/bin/env python
"""Django's command-line utility for the demo project (demo.demoproject.settings)."""

import os
import sys
from pathlib import Path

if __name__ == "__main__":
    # The demo lives in the repository as the package ``demo``: put the
    # repository root on the path so that ``python demo/manage.py`` works from anywhere.
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "demo.demoproject.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
