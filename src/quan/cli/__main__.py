"""``python -m quan.cli``: the same as the ``quan`` command."""

from quan.cli.root import main

if __name__ == "__main__":
    main()
