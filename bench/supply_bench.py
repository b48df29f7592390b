"""Matching an SBOM against a PyPI-sized OSV database, offline.

    python bench/supply_bench.py [--runs 5] [--records 20000] [--components 5000 200]

A synthetic database the size of OSV's PyPI dump (about 20,000 records over
5,000 packages, each with an ECOSYSTEM range and aliases) is imported once with
`envctl vulndb update` (timed too); then, in interleaved rounds, 5,000 SBOM
components are matched two ways in one process each:

- envctl: `vulndb.open_database` + `matching.match`: the index built at import
  time, so only the records of the components' packages are parsed;
- plain: every record of the dump parsed on each run and grouped by package
  name, then each component matched against its package's records (what a
  scanner that keeps no index of its own does), with the same `osv.is_affected`
  so both sides do the same matching work per candidate.

Both sides report the same findings (checked); the ratio is plain / envctl. Two
sizes of SBOM: 5,000 components (every package the database knows is touched,
so the index saves nothing) and 200 (a typical image: the index parses only
their records).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _timing import Ratio, call, rounds, table  # script-local helper

from envctl.supply import matching, osv, vulndb
from envctl.supply.components import Component


def make_dump(path: Path, records: int, packages: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for i in range(records):
            name = f"pkg{rng.randrange(packages)}"
            lo, hi = sorted(rng.sample(range(0, 40), 2))
            record = {
                "schema_version": "1.6.0",
                "id": f"PYSEC-2026-{i}",
                "aliases": [f"CVE-2026-{i}", f"GHSA-{i:04x}-bench"],
                "modified": "2026-12-01T00:00:00Z",
                "summary": "synthetic record",
                "severity": [
                    {"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}
                ],
                "affected": [
                    {
                        "package": {"ecosystem": "PyPI", "name": name},
                        "ranges": [
                            {
                                "type": "ECOSYSTEM",
                                "events": [{"introduced": f"1.{lo}"}, {"fixed": f"1.{hi}"}],
                            }
                        ],
                    }
                ],
            }
            zf.writestr(f"PYSEC-2026-{i}.json", json.dumps(record))


def components(count: int, packages: int, seed: int = 11) -> list[Component]:
    rng = random.Random(seed)
    out = []
    for i in range(count):
        name, version = f"pkg{i % packages}", f"1.{rng.randrange(40)}"
        out.append(Component("PyPI", name, version, f"pkg:pypi/{name}@{version}"))
    return out


def plain(dump: Path, comps: list[Component]) -> int:
    by_name: dict[str, list[tuple[str, osv.Affected]]] = {}
    with zipfile.ZipFile(dump) as zf:
        for member in zf.namelist():
            adv = osv.parse_advisory(json.loads(zf.read(member)))
            for aff in adv.affected:
                by_name.setdefault(aff.name, []).append((adv.id, aff))
    hits = set()
    for comp in comps:
        for ident, aff in by_name.get(comp.name, ()):
            if osv.is_affected(comp.version, aff):
                hits.add((comp.name, comp.version, ident))
    return len(hits)


def indexed(db_path: Path, comps: list[Component]) -> int:
    db = vulndb.open_database(db_path)
    found = matching.match(comps, db).findings
    return len({(f.package, f.installed, f.id) for f in found})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--components", type=int, nargs="+", default=[5_000, 200])
    parser.add_argument("--packages", type=int, default=5_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        dump = Path(tmp) / "all.zip"
        make_dump(dump, args.records, args.packages)
        started = time.perf_counter()
        vulndb.update([dump], Path(tmp) / "db")
        imported = time.perf_counter() - started
        print(f"{args.records:,} records over {args.packages:,} packages")
        print(f"envctl vulndb update of the dump: {imported:.2f} s (once)")
        for count in args.components:
            comps = components(count, args.packages)
            ours, theirs = indexed(Path(tmp) / "db", comps), plain(dump, comps)
            if ours != theirs:
                raise SystemExit(f"the two sides disagree: {ours} vs {theirs} findings")
            samples = rounds(
                {
                    "envctl (indexed)": call(lambda c=comps: indexed(Path(tmp) / "db", c)),
                    "plain (parse every record)": call(lambda c=comps: plain(dump, c)),
                },
                runs=args.runs,
            )
            print(f"\n{count:,} components, {ours:,} findings (the same on both sides)")
            ratio = Ratio.of(samples["envctl (indexed)"], samples["plain (parse every record)"])
            print(table("envctl (indexed)", [("plain (parse every record)", ratio)]))


if __name__ == "__main__":
    main()
