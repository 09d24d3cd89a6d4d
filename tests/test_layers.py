"""The layering rule (STYLE.md habit 1) is written as import-linter contracts in pyproject.toml."""
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_import_contracts_hold():
    result = subprocess.run([sys.executable, "-c", "from importlinter.cli import lint_imports_command; lint_imports_command()"],
                            cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_core_imports_without_store_or_frameworks():
    code = ("import sys, station.core.cases, station.core.intake, station.core.workdays, station.core.masking;"
            "bad = [m for m in ('sqlcipher3', 'sqlite_utils', 'click', 'textual', 'reportlab') if m in sys.modules];"
            "print(bad); sys.exit(1 if bad else 0)")
    assert subprocess.run([sys.executable, "-c", code], cwd=ROOT).returncode == 0
