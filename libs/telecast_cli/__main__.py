"""``python -m telecast_cli``: the same as the ``telecast`` command."""

from telecast_cli.main import main

main()
