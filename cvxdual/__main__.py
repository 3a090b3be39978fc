"""``python -m cvxdual``: run the demo (see :mod:`cvxdual.demo`)."""

from __future__ import annotations

from .demo import main

if __name__ == "__main__":
    raise SystemExit(main())
