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

# True once scripts/setup has finished (in the root, .venv/bin/python only resolves inside it).
venv_ready() { [ -f "$VENV/.callerid-ready" ]; }

# True when the venv was made inside the Debian root.
uses_root() { [ -f "$VENV/.callerid-root" ]; }

# Run a command with the venv first on PATH, inside the root when the venv lives there.
in_env() {
    if uses_root; then
        local root
        root=$(cat "$VENV/.callerid-root")
        unshare --mount --propagation private -- "$PROJECT/scripts/_enter-root" "$root" "$PROJECT" "$@"
    else
        PATH="$VENV/bin:$PATH" VIRTUAL_ENV="$VENV" "$@"
    fi
}
