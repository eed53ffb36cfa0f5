"""``python -m quan.cli``: the same as the ``quan`` command."""

from quan.cli.root import main

main()
