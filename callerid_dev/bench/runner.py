"""Run the scenarios, gather the keys of bench/results.json, print the table.

python -m callerid_dev.bench [--quick] [--only SCENARIO ...] [--out PATH]
python -m callerid_dev.bench --table bench/results.json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
from pathlib import Path
import platform
import shutil
import sys
import tempfile
import time
import traceback
from typing import Any

from homeassistant import const as ha_const

from ..harness import PROJECT, free_port, simulator_server
from .groups import FULL, GROUPS, QUICK, RUNNERS, SCENARIOS, Context, Plan
from .seeding import Seeder
from .table import keys, table


def machine() -> dict[str, Any]:
    """Return what the numbers were measured on."""
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "home_assistant": ha_const.__version__,
        "load_average_at_start": os.getloadavg(),
    }


async def run(plan: Plan, only: frozenset[str]) -> dict[str, Any]:
    """Run the groups that hold a scenario asked for; return the results file's content."""
    started = time.perf_counter()
    details: dict[str, Any] = {
        "machine": machine(),
        "quick": plan.quick,
        "counts": {"small": plan.small, "large": plan.large},
        "plan": vars(plan),
    }
    root = Path(tempfile.mkdtemp(prefix="callerid-bench-"))
    sim_port = free_port()
    sim_url = f"http://127.0.0.1:{sim_port}/api"
    errors: dict[str, str] = {}
    async with simulator_server(sim_port) as sim:
        ctx = Context(plan, root, sim, sim_url, Seeder(sim, sim_url), only)
        for group, scenarios in GROUPS.items():
            if only.isdisjoint(scenarios):
                continue
            print(f"{group} ...", flush=True)
            try:
                found = await RUNNERS[group](ctx)
            except Exception as err:  # noqa: BLE001 - the other groups still run
                errors[group], found = repr(err), {}
                traceback.print_exc()
            errors |= found.pop("errors", {})
            details.setdefault("blocking_calls", {})[group] = found.pop(
                "blocking_calls", None
            )
            details |= found
        details["seeding"] = seeding(ctx.seeder)
    finish(details, errors, root, started)
    return keys(details) | {"details": details}


def seeding(seeder: Seeder) -> dict[str, Any]:
    """Return how the entries got their numbers."""
    template = seeder.template
    return {
        "template": template.source if template else None,
        "record_fields": sorted(template.record) if template else None,
        "validated_one_by_one": seeder.fallbacks,
    }


def finish(
    details: dict[str, Any], errors: dict[str, str], root: Path, started: float
) -> None:
    """Note the errors and the time taken; keep Home Assistant's logs if anything failed."""
    details["machine"]["load_average_at_end"] = os.getloadavg()
    details["seconds"] = time.perf_counter() - started
    if errors:
        details["errors"] = errors
        print(f"Home Assistant's logs are in {root}", file=sys.stderr)
    else:
        shutil.rmtree(root, ignore_errors=True)


def arguments() -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(prog="python -m callerid_dev.bench")
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"fewer rounds, {QUICK.large} numbers for {FULL.large:,}: to try the bench",
    )
    parser.add_argument(
        "--only",
        action="append",
        choices=SCENARIOS,
        help="run this scenario (repeatable); written only to an --out given",
    )
    parser.add_argument(
        "--out",
        type=Path,
        help="where the JSON goes (default bench/results.json; bench/quick.json with "
        "--quick, which is not committed)",
    )
    parser.add_argument(
        "--table", type=Path, metavar="RESULTS", help="print a results file's table"
    )
    return parser.parse_args()


def main() -> None:
    """Run, write the JSON, print the table; or only print a results file's table."""
    args = arguments()
    if args.table is not None:
        print(table(json.loads(args.table.read_text())))
        return
    results = asyncio.run(
        run(QUICK if args.quick else FULL, frozenset(args.only or SCENARIOS))
    )
    out = args.out
    if out is None and not args.only:
        out = PROJECT / "bench" / ("quick.json" if args.quick else "results.json")
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(results, indent=2) + "\n")
    print()
    print(table(results))
    print(
        f"\n{results['details']['seconds']:.0f} s"
        + (f"; written to {out}" if out else "")
    )
    if errors := results["details"].get("errors"):
        sys.exit(f"failed: {', '.join(errors)}")
