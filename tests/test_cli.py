"""The ``cvxdual`` command: arguments, exit codes and the files the demo writes."""

from __future__ import annotations

import csv
import subprocess
import sys
import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from cvxdual import ConstrainedMLPClassifier, NormBoundedLinearClassifier, SpectralBall
from cvxdual.cli import DEFAULT_OUT, build_parser, main
from cvxdual.demo import OUTPUT_FILES, write_outputs
from cvxdual.report import DUAL_FRAME_COLUMNS, dual_path


def test_help_documents_the_demo_and_exits_zero(capsys):
    assert main(["--help"]) == 0
    assert "demo" in capsys.readouterr().out
    assert main(["demo", "--help"]) == 0
    text = capsys.readouterr().out
    for option in ("--quick", "--seed", "--out", DEFAULT_OUT, "dual_history.csv"):
        assert option in text
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.startswith("cvxdual ")


@pytest.mark.parametrize(
    "argv, message",
    [
        (["demo", "--seed", "x"], "argument --seed: must be an integer, got 'x'"),
        (["demo", "--seed", "-3"], "argument --seed: must be in [0, 2**32 - 1], got -3"),
        (["--seed"], "argument --seed: expected one argument"),
        (["demo", "--frobnicate"], "unrecognized arguments: --frobnicate"),
        (["serve"], "invalid choice: 'serve'"),
    ],
)
def test_bad_arguments_exit_2_with_a_message(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and err.startswith("usage: cvxdual")


def test_an_unwritable_out_exits_2_before_running(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    assert main(["demo", "--out", str(blocker / "sub")]) == 2
    captured = capsys.readouterr()
    assert "argument --out: cannot write to" in captured.err and captured.out == ""


def test_parser_defaults():
    args = build_parser().parse_args(["demo", "--quick", "--seed", "7"])
    assert (args.command, args.quick, args.seed) == ("demo", True, 7)
    assert str(args.out) == "cvxdual-demo"


def test_python_dash_m_runs_the_same_command():
    done = subprocess.run([sys.executable, "-m", "cvxdual", "demo", "--help"],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0 and "usage: cvxdual demo" in done.stdout
    done = subprocess.run([sys.executable, "-m", "cvxdual", "--seed", "oops"],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 2 and "must be an integer" in done.stderr


def _read(path):
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@pytest.mark.slow
def test_quick_demo_writes_every_file(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    out = tmp_path / "new" / "folder"
    assert main(["demo", "--quick", "--seed", "1", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert sorted(p.name for p in out.iterdir()) == sorted(OUTPUT_FILES)
    history = _read(out / "dual_history.csv")
    assert list(history[0]) == list(DUAL_FRAME_COLUMNS)
    assert {row["epoch"] for row in history} == {"1", "2", "3", "4", "5"}
    final = _read(out / "final_duals.csv")
    assert {row["model"] for row in final} == {"logistic", "network", "convex_relu"}
    path = _read(out / "shadow_prices.csv")
    assert list(path[0]) == ["value", "objective", "norm"] and len(path) == 6
    lams = [float(row["norm"]) for row in path]
    assert lams == sorted(lams, reverse=True)  # a bound's price falls as it loosens
    report = (out / "verification.txt").read_text(encoding="utf-8")
    assert report.count("all checks pass") == 3
    assert "Verification:" in text and f"wrote 7 files to {out}" in text
    for name in ("dual_history.png", "active_constraints.png", "shadow_prices.png"):
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_outputs_without_matplotlib_skip_the_plots(tmp_path, monkeypatch, capsys):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3))
    y = (X[:, 0] > 0).astype(int)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        network = ConstrainedMLPClassifier((4,), layer_constraints=SpectralBall(1.0),
                                           head_radius=2.0, max_iter=2, random_state=0).fit(X, y)
    linear = NormBoundedLinearClassifier(0.5).fit(X, y)
    path = dual_path(NormBoundedLinearClassifier(), X, y, "radius", [0.5, 1.0])
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    models = {"logistic": (linear, X, y), "network": (network, X, y)}
    written = write_outputs(tmp_path, models, path)
    assert written == ["dual_history.csv", "final_duals.csv", "shadow_prices.csv",
                       "verification.txt"]
    assert 'matplotlib is not installed: skipping the plots (pip install "cvxdual[notebooks]"' \
        in capsys.readouterr().out
    assert not list(tmp_path.glob("*.png"))
