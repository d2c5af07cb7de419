# shellcheck shell=bash
# Shared by scripts/setup and scripts/run: where the environment lives and how to enter it.
#
# Home Assistant 2026.3+ needs Python >= 3.14.2. A python3.14 on PATH is used directly; otherwise the
# environment is a Debian sid root (which ships python3.14) entered with bubblewrap. Both the root and the
# virtual environments live in a per-machine cache outside the clone, so fresh clones and CI reuse them.

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE_DIR="${DLMS_COSEM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/dlms_cosem-dev}"
SID_ROOT="$CACHE_DIR/sid-root"
SID_ROOT_MARKER="$SID_ROOT/.dlms_cosem_root_ok"
PIP_CACHE="$CACHE_DIR/pip"
LOCK_FILE="$CACHE_DIR/setup.lock"
MIN_PYTHON="3.14.2"
# Another requirements file (e.g. requirements_test_min.txt, the oldest Home Assistant supported, or
# requirements_e2e_newest.txt, the newest release for scripts/e2e and scripts/develop) gives another venv
# beside the default one.
REQUIREMENTS_FILE="${DLMS_COSEM_REQUIREMENTS:-requirements_test.txt}"

die() {
    echo "$(basename "$0"): $*" >&2
    exit 1
}

# The venv is keyed by the requirements, so a change of requirements_test.txt makes a fresh one and two
# clones with different requirements never share a venv.
requirements_hash() {
    sha256sum "$REPO_ROOT/$REQUIREMENTS_FILE" | cut -c1-16
}

venv_dir() {
    echo "$CACHE_DIR/venvs/py314-$(requirements_hash)"
}

# Prints the path of a python3.14 on PATH that is at least MIN_PYTHON, or nothing.
host_python314() {
    local candidate
    candidate="$(command -v python3.14 2>/dev/null)" || return 0
    if "$candidate" -c "import sys; sys.exit(0 if sys.version_info >= (3, 14, 2) else 1)" 2>/dev/null; then
        echo "$candidate"
    fi
}

# Environment mode: "host" when a suitable python3.14 is on PATH, else "sandbox".
env_mode() {
    if [ -n "${DLMS_COSEM_FORCE_SANDBOX:-}" ]; then
        echo sandbox
    elif [ -n "$(host_python314)" ]; then
        echo host
    else
        echo sandbox
    fi
}

# Runs "$@" inside the sid root with the clone and the cache bound at their own paths.
in_sandbox() {
    local extra=()
    [ -e /etc/hosts ] && extra+=(--ro-bind /etc/hosts /etc/hosts)
    # The host's trust store: package registries may be reached through a proxy with a local CA.
    [ -f /etc/ssl/certs/ca-certificates.crt ] \
        && extra+=(--ro-bind /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt)
    bwrap --bind "$SID_ROOT" / --proc /proc --dev /dev --tmpfs /tmp \
        --ro-bind /etc/resolv.conf /etc/resolv.conf "${extra[@]}" \
        --bind "$REPO_ROOT" "$REPO_ROOT" --bind "$CACHE_DIR" "$CACHE_DIR" \
        --setenv PIP_CACHE_DIR "$PIP_CACHE" --setenv HOME /root \
        --unsetenv PIP_FIND_LINKS --unsetenv PIP_CONSTRAINT \
        --die-with-parent --chdir "$PWD" "$@"
}
