"""``python -m replicalab`` runs the command line."""

from replicalab.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
