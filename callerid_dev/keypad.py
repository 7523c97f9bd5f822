"""Type digits on the phone the gateway simulator is calling."""

from __future__ import annotations

import argparse
import json
import sys
import urllib.error
import urllib.request


def main() -> int:
    """Send the digits to the simulator and print what happened."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("number")
    parser.add_argument("digits")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()
    request = urllib.request.Request(
        f"http://{args.host}:{args.port}/_sim/keypad",
        data=json.dumps({"number": args.number, "digits": args.digits}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=15) as response:  # noqa: S310 - loopback
            result = json.load(response)
    except urllib.error.HTTPError as err:
        print(json.load(err).get("error", err), file=sys.stderr)
        return 1
    except (urllib.error.URLError, OSError) as err:
        reason = getattr(err, "reason", err)
        print(
            f"No gateway simulator answers on {args.host}:{args.port} ({reason}).\n"
            "Is the demo (scripts/develop) or scripts/gateway-sim running? If it runs "
            "on another port, give that port as the third argument\n"
            "(scripts/keypad NUMBER CODE PORT) or set CALLERID_SIM_PORT.",
            file=sys.stderr,
        )
        return 2
    verdict = "accepted" if result["validated"] else "wrong code"
    print(f"{result['number']}: {verdict}; callback answered {result.get('callback')}")
    return 0 if result["validated"] else 1


if __name__ == "__main__":
    sys.exit(main())
