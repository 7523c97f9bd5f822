# Sourced by the other scripts: where the project's Python 3.14 environment lives and how to run in it.
# Home Assistant needs Python >= 3.14.2. A machine that has one uses it directly; a machine that has
# none gets a minimal Debian sid root with python3.14, built once by scripts/setup and entered with
# chroot inside a private mount namespace (so no mount outlives the command).
set -euo pipefail

PROJECT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV="$PROJECT/.venv"
PY_ROOT="${CALLERID_PY_ROOT:-${XDG_CACHE_HOME:-$HOME/.cache}/callerid/py314-root}"

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

python_ok() {
    "$1" -c 'import sys; sys.exit(sys.version_info < (3, 14, 2))' >/dev/null 2>&1
}

# Print the path of a Python >= 3.14.2 on this machine, or fail.
find_python() {
    local candidate
    for candidate in "${CALLERID_PYTHON:-}" python3.14 python3 python3.15 "$HOME"/.pyenv/versions/3.1[45]*/bin/python3; do
        [ -n "$candidate" ] || continue
        candidate=$(command -v "$candidate" 2>/dev/null) || continue
        if python_ok "$candidate"; then
            echo "$candidate"
            return 0
        fi
    done
    return 1
}

# The Home Assistant versions the end-to-end tests run on (CALLERID_E2E_HA picks some, e.g.
# CALLERID_E2E_HA=2026.11). 2026.10 is .venv's (requirements_test.txt); each other version
# has its own environment .venv-VERSION made from requirements_e2e_VERSION.txt.
E2E_HA_ALL="2026.10 2026.11"
E2E_HA="${CALLERID_E2E_HA:-$E2E_HA_ALL}"

# The environment of one of the versions above (fails for an unknown version).
e2e_venv() {
    if [ "$1" = 2026.10 ]; then
        echo "$VENV"
    elif [ -f "$PROJECT/requirements_e2e_$1.txt" ]; then
        echo "$PROJECT/.venv-$1"
    else
        log "no Home Assistant $1 for the end-to-end tests (there are: $E2E_HA_ALL)"
        return 1
    fi
}

# True once scripts/setup has finished with a venv, .venv by default (in the root,
# .venv/bin/python only resolves inside it).
venv_ready() { [ -f "${1:-$VENV}/.callerid-ready" ]; }

# True when the venv (.venv by default) was made inside the Debian root.
uses_root() { [ -f "${1:-$VENV}/.callerid-root" ]; }

# Run a command with a venv first on PATH, inside the root when the venv lives there.
in_venv() {
    local venv=$1
    shift
    if uses_root "$venv"; then
        local root
        root=$(cat "$venv/.callerid-root")
        CALLERID_VENV="$venv" unshare --mount --propagation private -- \
            "$PROJECT/scripts/_enter-root" "$root" "$PROJECT" "$@"
    else
        PATH="$venv/bin:$PATH" VIRTUAL_ENV="$venv" "$@"
    fi
}

# The same with .venv, the project's environment.
in_env() { in_venv "$VENV" "$@"; }
