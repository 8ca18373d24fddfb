"""``python -m osclc``: the same as the ``osclc`` command."""

from osclc.lab.cli.main import main

raise SystemExit(main())
