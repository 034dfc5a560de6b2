"""Summarise a py-spy ``--format raw`` profile (collapsed stacks): where the time goes.

    .venv/bin/python -m bench.profile_summary /tmp/prof/lookup.txt [--top 25] [--grep app/]

Prints the share of samples per frame, inclusive (the frame is anywhere on the stack) and
self (the frame is on top), and per "area" of the code (app package, starlette, sqlalchemy,
asyncpg, pydantic, uvicorn, ...) by the innermost frame of that area.
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path

_FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>.*?)(?::(?P<line>\d+))?\)$")
AREAS = (
    ("app/", "app"),
    ("bench/", "bench"),
    ("sqlalchemy", "sqlalchemy"),
    ("asyncpg", "asyncpg"),
    ("aiosqlite", "aiosqlite"),
    ("pydantic", "pydantic"),
    ("fastapi", "fastapi"),
    ("starlette", "starlette"),
    ("uvicorn", "uvicorn"),
    ("uvloop", "uvloop"),
    ("asyncio", "asyncio"),
    ("phonenumbers", "phonenumbers"),
    ("jose", "jose"),
    ("logging", "logging"),
    ("json", "json"),
)


def parse(path: Path) -> list[tuple[list[str], int]]:
    stacks = []
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        stacks.append((stack.split(";"), int(count)))
    return stacks


def short(frame: str) -> str:
    m = _FRAME.match(frame)
    if not m:
        return frame
    file = m.group("file")
    for marker in ("site-packages/", "/work/main/", "lib/python3.11/"):
        if marker in file:
            file = file.split(marker, 1)[1]
    return f"{m.group('func')} ({file})"


def area(frame: str) -> str:
    for needle, name in AREAS:
        if needle in frame:
            return name
    return "other"


def summarise(path: Path, top: int, grep: str | None) -> str:
    stacks = parse(path)
    total = sum(c for _, c in stacks) or 1
    inclusive: Counter[str] = Counter()
    self_time: Counter[str] = Counter()
    areas: Counter[str] = Counter()
    for frames, count in stacks:
        names = [short(f) for f in frames]
        for name in set(names):
            inclusive[name] += count
        self_time[names[-1]] += count
        areas[area(frames[-1])] += count
    out = [f"{path}: {total:,} samples"]
    out.append("by area of the innermost frame:")
    out += [f"  {100 * c / total:5.1f}%  {name}" for name, c in areas.most_common()]
    out.append(f"self (top {top}):")
    out += [f"  {100 * c / total:5.1f}%  {name}" for name, c in self_time.most_common(top)]
    out.append(f"inclusive (top {top}{', matching ' + grep if grep else ''}):")
    rows = [(n, c) for n, c in inclusive.most_common() if not grep or grep in n][:top]
    out += [f"  {100 * c / total:5.1f}%  {name}" for name, c in rows]
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("profiles", nargs="+", type=Path)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--grep", help="only inclusive frames containing this text")
    args = parser.parse_args()
    for path in args.profiles:
        print(summarise(path, args.top, args.grep))
        print()


if __name__ == "__main__":
    main()
