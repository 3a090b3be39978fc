"""``python -m cvxdual``: the ``cvxdual`` command (see :mod:`cvxdual.cli`); the demo by default."""

from __future__ import annotations

from .cli import main

if __name__ == "__main__":
    raise SystemExit(main())
