"""The ``cvxdual`` command (also ``python -m cvxdual``).

``cvxdual demo [--quick] [--seed N] [--out DIR]`` runs the demo of
:mod:`cvxdual.demo` and writes its tables (CSV), plots (PNG, when matplotlib
is installed) and verification reports to ``DIR`` (default ``./cvxdual-demo``).
With no subcommand, or options only, the demo runs.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

__all__ = ["build_parser", "main"]

DEFAULT_OUT = "./cvxdual-demo"


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer, got {text!r}") from None
    if not 0 <= value < 2**32:
        raise argparse.ArgumentTypeError(f"must be in [0, 2**32 - 1], got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """Return the parser of the ``cvxdual`` command.

    Examples
    --------
    >>> from cvxdual.cli import build_parser
    >>> build_parser().parse_args(["demo", "--quick", "--seed", "3"]).seed
    3
    """
    from . import __version__

    parser = argparse.ArgumentParser(
        prog="cvxdual",
        description="cvxdual: constrained learning backed by convex optimization, with exact "
        "Lagrange multipliers. Run 'cvxdual demo --help' for the demo's options.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    demo = commands.add_parser(
        "demo",
        help="run the demo and write its tables, plots and verification reports",
        description="Project onto convex sets, fit a norm-bounded logistic model, a "
        "constrained network and an exact two-layer ReLU network; print their duals and "
        "checks, and write to --out: dual_history.csv (the network's duals, every epoch), "
        "final_duals.csv (every model's final duals), shadow_prices.csv (the logistic "
        "model's multiplier along its radius), verification.txt (verify_estimator for each "
        "model) and, when matplotlib is installed, dual_history.png, "
        "active_constraints.png and shadow_prices.png.",
    )
    demo.add_argument("--quick", action="store_true",
                      help="fewer epochs and grid points (a few seconds less)")
    demo.add_argument("--seed", type=_seed, default=0, metavar="N",
                      help="seed of every section's random numbers (default: 0)")
    demo.add_argument("--out", type=Path, default=Path(DEFAULT_OUT), metavar="DIR",
                      help=f"folder for the CSV, PNG and text outputs, created if needed "
                      f"(default: {DEFAULT_OUT})")
    parser.demo_parser = demo  # for errors found after parsing (an unwritable --out)
    return parser


def _prepare_out(out: Path) -> str | None:
    """Create ``out`` and check it is writable; return an error message or None."""
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=out):
            pass
    except OSError as exc:
        reason = exc.strerror or str(exc)
        return f"argument --out: cannot write to {str(out)!r}: {reason}"
    return None


def main(argv: list[str] | None = None) -> int:
    """Run the ``cvxdual`` command with ``argv`` (default ``sys.argv[1:]``).

    Returns the exit code instead of exiting: 0 on success, 2 for bad arguments
    (with argparse's message on stderr), as the console script and
    ``python -m cvxdual`` pass it to :func:`sys.exit`.

    Examples
    --------
    >>> from cvxdual.cli import main
    >>> main(["demo", "--seed", "-1"])
    2
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or (argv[0].startswith("-") and argv[0] not in ("-h", "--help", "--version")):
        argv = ["demo", *argv]  # `python -m cvxdual [--quick]` runs the demo
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version (0) or a usage error (2)
        return int(exc.code or 0)
    if args.command != "demo":  # pragma: no cover - demo is the only command
        parser.print_help()
        return 2
    error = _prepare_out(args.out)
    if error is not None:
        try:
            parser.demo_parser.error(error)
        except SystemExit as exc:
            return int(exc.code)
    from .demo import run

    os.environ.setdefault("MPLBACKEND", "Agg")
    return run(quick=args.quick, seed=args.seed, out=args.out)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
