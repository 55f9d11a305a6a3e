import subprocess
import sys

from tools import cli


def test_help_lists_subcommands(capsys):
    try:
        cli.main(["--help"])
    except SystemExit as e:
        assert e.code == 0
    out = capsys.readouterr().out
    assert "usage: sensorkit" in out
    for name in cli.SUBCOMMANDS:  # module tls_client registers the subcommand tls-client
        assert name.replace("_", "-") in out


def test_module_entry_point_runs():
    r = subprocess.run([sys.executable, "-m", "tools.cli", "--help"], capture_output=True, text=True)
    assert r.returncode == 0 and "sensorkit" in r.stdout


def test_unknown_subcommand_fails():
    r = subprocess.run([sys.executable, "-m", "tools.cli", "no-such"], capture_output=True, text=True)
    assert r.returncode != 0
