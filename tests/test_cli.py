"""The decaylab command line: argument handling, and one real quick report."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import decaylab.report
from decaylab import cli


@pytest.fixture
def calls(monkeypatch, tmp_path):
    """Replace write_report by a recorder that writes nothing."""
    seen = []

    def fake(out, **kwargs):
        seen.append({"out": out, **kwargs})
        return decaylab.report.Report(
            Path(out),
            Path(out) / "report.md",
            [],
            Path(out) / "results.json",
            [],
            {**{slug: 1.0 for slug in decaylab.report.SLUGS}, "total": 6.0},
        )

    monkeypatch.setattr(decaylab.report, "write_report", fake)
    return seen


def test_report_defaults(calls, capsys):
    assert cli.main(["report"]) == 0
    (call,) = calls
    assert call["out"] == "decaylab-report"
    assert (call["quick"], call["seeds"], call["workers"]) == (False, None, None)
    assert call["data"].name == "digits"
    assert "wrote decaylab-report" in capsys.readouterr().out


def test_data_mnist_alone_is_the_bundled_real_mnist(calls):
    cli.main(["report", "--data", "mnist"])
    data = calls[0]["data"]
    assert (data.name, data.train.n, data.train.X.shape[1]) == ("mnist5k", 4000, 784)


@pytest.mark.parametrize(
    "argv, key, value",
    [
        (["--quick"], "quick", True),
        (["--seeds", "5"], "seeds", 5),
        (["--workers", "2"], "workers", 2),
        (["--out", "elsewhere"], "out", "elsewhere"),
        (["--no-progress"], "progress", False),
    ],
)
def test_report_options(calls, argv, key, value):
    cli.main(["report", *argv])
    assert calls[0][key] == value


def test_report_prints_where_it_wrote(calls, capsys, tmp_path):
    cli.main(["report", "--out", str(tmp_path / "here")])
    out = capsys.readouterr().out
    assert str(tmp_path / "here" / "report.md") in out


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--data", "mnist", "a", "b"], "expected 'digits', 'mnist' or 'mnist PATH'"),
        (["--data", "cifar"], "expected 'digits', 'mnist' or 'mnist PATH'"),
        (["--data", "mnist", "/nonexistent/mnist.pkl.gz"], "--data mnist /nonexistent"),
        (["--seeds", "0"], "--seeds 0 is too small"),
        (["--workers", "0"], "--workers 0 is too small"),
        (["--seeds", "two"], "invalid int value"),
    ],
)
def test_bad_arguments_exit_with_a_message(calls, capsys, argv, message):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["report", *argv])
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err
    assert not calls


def test_a_command_is_required(capsys):
    with pytest.raises(SystemExit):
        cli.main([])
    assert "COMMAND" in capsys.readouterr().err


@pytest.mark.slow
def test_quick_report_from_the_command_line(tmp_path):
    out = tmp_path / "quick"
    done = subprocess.run(
        [sys.executable, "-m", "decaylab.cli", "report", "--quick", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    assert f"wrote {out / 'report.md'}" in done.stdout
    text = (out / "report.md").read_text(encoding="utf-8")
    assert text.count('<details markdown="1">') == 7
    assert "\n## Q7. " in text
    claims = text.split("## The claims, answered")[1].split("\n\n")[1].splitlines()[2:]
    assert [row.split(". ", 1)[0] for row in claims[12:]] == ["| 13", "| 14", "| 15", "| 16"]
    assert sorted(p.name for p in out.glob("*.png")) == sorted(
        f"{slug}.png" for slug in decaylab.report.SLUGS
    )


def test_an_out_that_is_a_file_is_one_line_of_error(capsys, tmp_path):
    (tmp_path / "taken").write_text("x")
    assert cli.main(["report", "--quick", "--out", str(tmp_path / "taken")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith("decaylab report: error: out=") and "is a file" in err


def test_ctrl_c_is_one_line_without_a_traceback(monkeypatch, capsys):
    def interrupted(out, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(decaylab.report, "write_report", interrupted)
    assert cli.main(["report", "--out", "somewhere"]) == 130
    err = capsys.readouterr().err
    assert err == "decaylab report: interrupted; somewhere is left as it was\n"
