#!/usr/bin/env python3
"""Checks the workspace's shape: no Rust file in crates/ or functions/ over 900 lines (the MediaConvert model's
type definitions aside) and no function over 120 lines. A newcomer should find every rule in a file they can read
whole, and every function on a screen or two.

    code_shape.py            prints what breaks the limits (exit 1 if anything does)

Functions are found as rustfmt lays them out: a line starting with the `fn` item (after visibility and
qualifiers) and ending at the first later line that closes a brace at the same indentation.
"""

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MAX_FILE_LINES = 900
MAX_FUNCTION_LINES = 120
# The MediaConvert model's serde type definitions: one struct per model shape, nothing to split by responsibility.
EXEMPT_FILES = {"crates/core/src/job/model.rs"}

FN = re.compile(r"^(?P<indent>\s*)(pub(\([^)]*\))?\s+)?((const|async|unsafe|extern \"C\")\s+)*fn\s+(?P<name>\w+)")


def rust_files():
    for top in ("crates", "functions"):
        for path in sorted((ROOT / top).rglob("*.rs")):
            if "target" not in path.relative_to(ROOT).parts:
                yield path


def long_functions(lines):
    """(name, first line number, length) of every function over the limit."""
    found = []
    for i, line in enumerate(lines):
        match = FN.match(line)
        if not match or line.rstrip().endswith(";"):
            continue
        close = match.group("indent") + "}"
        for j in range(i + 1, len(lines)):
            if lines[j].rstrip() == close:
                length = j - i + 1
                if length > MAX_FUNCTION_LINES:
                    found.append((match.group("name"), i + 1, length))
                break
    return found


def problems():
    for path in rust_files():
        relative = path.relative_to(ROOT).as_posix()
        lines = path.read_text(encoding="utf-8").splitlines()
        if relative not in EXEMPT_FILES and len(lines) > MAX_FILE_LINES:
            yield f"{relative}: {len(lines)} lines (at most {MAX_FILE_LINES})"
        for name, line, length in long_functions(lines):
            yield f"{relative}:{line}: fn {name} is {length} lines (at most {MAX_FUNCTION_LINES})"


def main():
    found = list(problems())
    for problem in found:
        print(problem)
    if found:
        sys.exit(1)
    print("code shape: every file and function within its limits")


if __name__ == "__main__":
    main()
