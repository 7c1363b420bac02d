"""``python -m cxreport``: the command line, as the ``cxreport`` script runs it."""

from .cli import main

raise SystemExit(main())
