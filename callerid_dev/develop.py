"""The demo: the gateway simulator and a real Home Assistant with the integration set up."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from pathlib import Path
import shutil
import signal

import aiohttp

from .harness import (
    PASSWORD,
    PROJECT,
    USERNAME,
    HassClient,
    HassProcess,
    simulator_server,
)

DEMO_KEY = "demo-key"
DEMO_NUMBER = "+49 176 12345678"
DASHBOARD = "caller-id"
# One markdown card over whatever numbers the integration has: no card refers to an
# entity before it exists. Each number's device has its caller ID binary sensor and
# its status sensor (the sensor whose state is a validation status).
NUMBERS_CARD = {
    "type": "markdown",
    "title": "Caller IDs",
    "content": """\
{#- Refers to every sensor's state: so it is rendered again when a number's sensors
    appear, which integration_entities alone would not notice. -#}
{% set sensors = (states.binary_sensor | count) + (states.sensor | count) -%}
{#- The numbers' devices: the account's own device (its balance) is left out. -#}
{% set devices = integration_entities('callerid') | map('device_id')
    | reject('none') | unique | select('is_device_attr', 'model', 'Caller ID')
    | list -%}
{% if devices -%}
| Number | Caller ID | Status |
| --- | --- | --- |
{% for device in devices -%}
{% set entities = device_entities(device) -%}
{% set caller_id = entities | select('match', 'binary_sensor\\.') | first -%}
{% set status = entities | select('match', 'sensor\\.')
    | select('is_state', ['pending', 'validated', 'failed', 'expired']) | first -%}
| {{ device_attr(device, 'name') }} | {{ state_translated(caller_id) if caller_id }} \
| {{ state_translated(status) if status }} |
{% endfor -%}
{% else -%}
No number validated yet.
{% endif -%}
""",
}
HOW_TO_CARD = {
    "type": "markdown",
    "content": (
        "**Settings > Devices & services > seven.io Caller ID**, the account: "
        f"**Add caller ID**, type `{DEMO_NUMBER}` and submit. The dialog shows the "
        "code (so do the *Notifications* in the sidebar). Type it with "
        "`scripts/keypad`; the number's row turns *Validated*."
    ),
}


async def prepare(api: HassClient, sim_url: str) -> None:
    """Log in (onboarding the first time), configure the integration, add a dashboard."""
    if await api.onboarded():
        await api.login()
    else:
        await api.onboard()
    await api.wait_until_running()
    entries = await api.request(
        "GET", "/api/config/config_entries/entry?domain=callerid"
    )
    if not entries:
        await api.add_callerid(DEMO_KEY, sim_url)
    (dashboards,) = await api.ws([{"type": "lovelace/dashboards/list"}])
    if not any(board["url_path"] == DASHBOARD for board in dashboards):
        await api.add_dashboard(DASHBOARD, [NUMBERS_CARD, HOW_TO_CARD])


async def run(state_dir: Path, hass_port: int, sim_port: int) -> None:
    """Start everything, print what to do, and run until interrupted."""
    sim_url = f"http://127.0.0.1:{sim_port}/api"
    # The recorder and the logbook: a device page shows its activity (how calls went).
    process = HassProcess(
        config_dir=state_dir / "config",
        port=hass_port,
        extra_config="recorder:\nhistory:\nlogbook:\n",
    )
    # This checkout's blueprints, as importing them from the README's links adds them.
    shutil.copytree(
        PROJECT / "blueprints",
        process.config_dir / "blueprints",
        dirs_exist_ok=True,
    )
    async with simulator_server(sim_port):
        print(f"gateway simulator on {sim_url} (API key: {DEMO_KEY})", flush=True)
        print(f"starting Home Assistant on {process.url} ...", flush=True)
        await process.start()
        try:
            async with aiohttp.ClientSession() as session:
                await prepare(HassClient(session, process.url), sim_url)
            print(
                f"""
Home Assistant is ready: {process.url}   (log: {process.log_path})

  1. Open {process.url}/{DASHBOARD}/numbers and log in as {USERNAME} / {PASSWORD}.
  2. Settings > Devices & services > seven.io Caller ID > the account: "Add caller ID",
     type {DEMO_NUMBER} and submit. The dialog shows the code (so does the
     notification). Automations use the action callerid.validate instead.
  3. "Answer the call" and type the code, in another shell:
         scripts/keypad {DEMO_NUMBER.replace(" ", "")} CODE {sim_port}
  4. The dialog says Validated; the number is a row under the account, with its
     device, and the Caller ID dashboard shows it "Validated".
  5. Place a call from it: on its device page press "Test call" (whom it calls is
     "Test call to"), or Settings > Tools > Actions: "Call from a caller ID"
     (callerid.call). The number's Last call sensor turns "Calling"; the call's id is in
     the action's response and in the simulator's GET {sim_url.removesuffix("/api")}/_sim/state.
  6. End the call as seven.io would report it (answered after 17 s):
         curl -s -X POST {sim_url.removesuffix("/api")}/_sim/end_call \\
           -H 'Content-Type: application/json' \\
           -d '{{"call_id": "CALL_ID", "status": "completed", "duration": 17}}'
     The number's Last call sensor turns "Answered" (status "no-answer" and
     duration 0: "Not answered"), and callerid_call_ended fires.

Ctrl-C stops the demo; its state stays in {state_dir} for next time.""",
                flush=True,
            )
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, stop.set)
            await stop.wait()
        finally:
            print("stopping Home Assistant ...", flush=True)
            await process.stop()


def main() -> None:
    """Parse arguments and run the demo."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--state-dir", type=Path, default=Path(".demo"))
    parser.add_argument("--hass-port", type=int, default=8123)
    parser.add_argument("--sim-port", type=int, default=8765)
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run(args.state_dir.resolve(), args.hass_port, args.sim_port))


if __name__ == "__main__":
    main()
