"""``python -m cockpit`` is the ``cockpit`` command."""

from cockpit.cli import main

if __name__ == "__main__":
    main()
