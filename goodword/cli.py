"""The `goodword` console script: Django's management commands under one name."""

from __future__ import annotations

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "goodword.settings")
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line

    try:
        execute_from_command_line(["goodword", *sys.argv[1:]])
    except ImproperlyConfigured as exc:
        # A bad setting: say which and how to fix it, without a traceback.
        print(f"goodword: configuration error: {exc}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
