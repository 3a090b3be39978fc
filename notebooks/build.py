"""Execute the notebooks in place, so that they are stored with their outputs.

Run from anywhere (needs the ``notebooks`` extra: nbclient, nbformat,
ipykernel, matplotlib, pandas)::

    python notebooks/build.py                 # every notebooks/*.ipynb
    python notebooks/build.py 03_two_layer_relu.ipynb   # only these

Each notebook runs top to bottom in a fresh ``python3`` kernel whose working
directory is ``notebooks/`` and which imports cvxdual from this checkout (the
repository root is put first on ``PYTHONPATH``), with matplotlib's inline
backend (``MPLBACKEND`` is removed from the kernel's environment), and is
written back with its outputs, figures as inline PNGs. A cell that raises
stops the build with the error and leaves the file unchanged.

A code cell tagged ``figure:NAME`` (cell metadata ``tags``) also has its
first figure written to ``notebooks/figures/NAME.png``, for the README.
``tests/test_notebooks.py`` runs the same function on temporary copies.
"""

from __future__ import annotations

import argparse
import base64
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
# Seconds one cell may take before the build (or the test) gives up.
CELL_TIMEOUT = 600


def notebooks() -> list[Path]:
    """Return the notebooks of this folder, in name order."""
    return sorted(HERE.glob("*.ipynb"))


def kernel_environment() -> dict[str, str]:
    """The kernel's environment: this checkout first on the path, inline figures."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p
    )
    env.pop("MPLBACKEND", None)
    return env


def execute(path: Path, *, timeout: int = CELL_TIMEOUT, cwd: Path | None = None):
    """Return the notebook at ``path`` executed top to bottom (the file is not written).

    The kernel runs in ``cwd`` (default: this folder).
    """
    import nbclient
    import nbformat

    notebook = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        notebook,
        timeout=timeout,
        kernel_name="python3",
        record_timing=False,  # no timestamps: a rebuild changes only what changed
        resources={"metadata": {"path": str(cwd or HERE)}},
    )
    client.execute(env=kernel_environment())
    return notebook


def export_figures(notebook) -> list[Path]:
    """Write the first PNG of every cell tagged ``figure:NAME`` to ``figures/NAME.png``."""
    written = []
    for cell in notebook.cells:
        names = [t.split(":", 1)[1] for t in cell.get("metadata", {}).get("tags", [])
                 if t.startswith("figure:")]
        pngs = [o["data"]["image/png"] for o in cell.get("outputs", [])
                if "image/png" in o.get("data", {})]
        for name in names:
            if not pngs:
                raise ValueError(f"cell tagged figure:{name} drew no figure")
            path = HERE / "figures" / f"{name}.png"
            path.parent.mkdir(exist_ok=True)
            path.write_bytes(base64.b64decode(pngs[0]))
            written.append(path)
    return written


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Execute the notebooks in place.")
    parser.add_argument("names", nargs="*", help="notebook file names (default: all)")
    parser.add_argument("--timeout", type=int, default=CELL_TIMEOUT,
                        help=f"seconds per cell (default {CELL_TIMEOUT})")
    args = parser.parse_args(argv)
    import nbformat

    paths = [HERE / name for name in args.names] if args.names else notebooks()
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        parser.error(f"no such notebook: {', '.join(missing)}")
    total = 0.0
    for path in paths:
        start = time.perf_counter()
        notebook = execute(path, timeout=args.timeout)
        nbformat.write(notebook, path)
        export_figures(notebook)
        elapsed = time.perf_counter() - start
        total += elapsed
        print(f"{path.name}: executed in {elapsed:.1f} s")
    print(f"{len(paths)} notebook(s) in {total:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
