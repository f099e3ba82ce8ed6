#!/usr/bin/env bash
# Run the sandbox's tests again as an unprivileged user (how most instructors grade):
#   tools/test_as_user.sh [pytest args...]      (as root; `.ci/run` calls it after `make test`)
# Creates the user `calcgrad-ci` when it is missing. When the Python installation or this
# checkout sits under a folder other users cannot enter (pyenv under /root, say), the tests
# run in a private mount namespace in which that folder is an empty tmpfs with only those
# paths bound back: the host's permissions are left as they are.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" -eq 0 ] || { echo "tools/test_as_user.sh: run it as root" >&2; exit 2; }
USER_NAME=calcgrad-ci
id "$USER_NAME" >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin "$USER_NAME"
REPO=$PWD
PREFIX=$(.venv/bin/python -c 'import sys; print(sys.base_prefix)')
WORK=$(mktemp -d /tmp/calcgrad-ci-XXXXXX)
chown "$USER_NAME" "$WORK"
TESTS=("$@")
[ ${#TESTS[@]} -gt 0 ] || TESTS=(tests/test_grading_sandbox.py tests/test_grading_isolation.py
    "tests/test_methods.py::test_a_wrapped_decoy_loses_the_method_point[calcgrad]")

# The first folder above a path that others cannot enter (empty when there is none).
closed_above() {
    local dir=$1
    while [ "$dir" != / ]; do
        dir=$(dirname "$dir")
        if [ "$(( 0$(stat -c %a "$dir") & 01 ))" -eq 0 ]; then echo "$dir"; return; fi
    done
}

run_tests=(runuser -u "$USER_NAME" -- env -i PATH="$REPO/.venv/bin:/usr/bin:/bin"
           HOME="$WORK/home" LANG=C.UTF-8 PYTHONWARNINGS=ignore::DeprecationWarning
           "$REPO/.venv/bin/pytest" -q -p no:cacheprovider --basetemp="$WORK/pytest"
           "${TESTS[@]}")
status=0
closed=""
for path in "$PREFIX" "$REPO"; do
    above=$(closed_above "$path")
    [ -z "$above" ] || closed="$closed $above:$path"
done
if [ -z "$closed" ]; then
    "${run_tests[@]}" || status=$?
else
    # In a private mount namespace: each closed folder becomes an open, empty tmpfs, with
    # the paths the tests need bound back into it.
    script='set -e'
    for pair in $closed; do
        above=${pair%%:*}; path=${pair#*:}
        keep="$WORK/keep$(echo "$path" | tr / _)"
        script="$script; mkdir -p '$keep'; mount --bind '$path' '$keep'"
        script="$script; mount -t tmpfs -o mode=0755 calcgrad-ci '$above'"
        script="$script; mkdir -p '$path'; mount --bind '$keep' '$path'"
    done
    unshare --mount --propagation private sh -c "$script; cd '$REPO'; exec \"\$@\"" sh \
        "${run_tests[@]}" || status=$?
fi
rm -rf "$WORK"
exit $status
