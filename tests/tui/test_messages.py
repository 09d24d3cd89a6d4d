"""No command-line syntax in what the app says: a message names the action in the app, not a flag.

Every Chinese string in the code the app runs (everything but the command line itself and the
township's hub) is read from the source; one that shows ``station …``, ``--flag`` or ``field=``
would send a clerk to a command line they do not have.
"""
from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ["station", "sync", "ledgers", "printouts"]
CLI_ONLY = re.compile(r"(^|/)(cli(_\w+)?\.py|hub/|__main__\.py|doctor\.py)")  # doctor: the command line's own check
# Said only where the app cannot run at all: restoring into a folder, or no station there yet.
COMMAND_LINE_ONLY = {("station/services/backup.py", "--data-dir"), ("station/services/session.py", "station init"),
                     ("station/store/keys.py", "station init")}
CLI_SYNTAX = re.compile(r"station [a-z]+|(?<![\w-])--[a-z]|\b[a-z_]{3,}=")
CJK = re.compile(r"[\u4e00-\u9fff]")


def _messages(path: Path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {id(n.body[0].value) for n in ast.walk(tree)
                  if isinstance(n, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
                  and n.body and isinstance(n.body[0], ast.Expr) and isinstance(n.body[0].value, ast.Constant)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            yield node.lineno, node.value


def test_no_command_line_syntax_in_app_messages():
    found = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            if CLI_ONLY.search(rel):
                continue
            for line, text in _messages(path):
                hit = CJK.search(text) and CLI_SYNTAX.search(text)
                if hit and not any(rel == f and s in text for f, s in COMMAND_LINE_ONLY):
                    found.append(f"{rel}:{line}: {text}")
    assert not found, "\n".join(found)
