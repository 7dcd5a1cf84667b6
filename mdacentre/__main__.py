"""``python -m mdacentre``: the same command line as the ``mdacentre`` script."""

from mdacentre.cli.main import main

raise SystemExit(main())
