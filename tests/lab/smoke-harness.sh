#!/usr/bin/env bash
# smoke-harness.sh (on the host): pins down what lab-run promises its callers:
# the command's exit status, stdout and stderr come back separately; it runs
# in the caller's directory with the caller's environment; a time-out gives
# 124 and a signal 128+N, and neither leaves a lab kernel or a temporary
# directory behind; a usage error gives 2.
#
#   smoke-harness.sh PATH-TO-lab-run       (as root)
set -euo pipefail

lab_run=${1:?usage: smoke-harness.sh PATH-TO-lab-run}

fail() {
    echo "smoke-harness: FAIL: $*" >&2
    exit 1
}

# The labs of this test keep their directories (and so their kernels' command
# lines) under a TMPDIR of its own, so that leaks can be told from other labs.
tmp=$(mktemp -d "${TMPDIR:-/tmp}/klipsfs-smoke-harness.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
export TMPDIR=$tmp
cd "$tmp"

labs_running() { pgrep -f "klipsfs_lab=$tmp/" >/dev/null; }

check_nothing_left() {
    ! labs_running || fail "$1: a lab kernel is still running"
    local dirs
    dirs=$(find "$tmp" -maxdepth 1 -name 'klipsfs-lab.*')
    [[ -z $dirs ]] || fail "$1: left its directory $dirs"
}

# Runs lab-run with the given arguments; sets $status, $out and $err.
run_lab() {
    status=0
    "$lab_run" "$@" >"$tmp/out" 2>"$tmp/err" || status=$?
    out=$(cat "$tmp/out")
    err=$(cat "$tmp/err")
}

export SMOKE_VALUE='two  words'
# shellcheck disable=SC2016  # expanded inside the lab, on purpose
run_lab --timeout 60 -- sh -c \
    'echo "out|$PWD|$SMOKE_VALUE|$KLIPSFS_LAB|$(cat /proc/sys/kernel/hostname)"
     echo err >&2
     exit 3'
[[ $status == 3 ]] || fail "the command's status 3 came back as $status ($err)"
[[ $out == "out|$tmp|two  words|1|klipsfs-lab" ]] || fail "unexpected stdout '$out'"
[[ $err == err ]] || fail "unexpected stderr '$err'"
check_nothing_left "a normal run"

run_lab --timeout 60 -- klipsfs-no-such-command
[[ $status == 127 ]] || fail "a missing command gave status $status, not 127"

run_lab --timeout 3 -- sleep 60
[[ $status == 124 ]] || fail "a time-out gave status $status, not 124"
[[ $err == *"timed out after 3s"* ]] || fail "a time-out said '$err'"
check_nothing_left "a time-out"

"$lab_run" --timeout 60 -- sleep 60 >/dev/null 2>&1 &
lab_pid=$!
deadline=$((SECONDS + 30))
until labs_running; do
    ((SECONDS < deadline)) || fail "no lab kernel started within 30 s"
    sleep 0.05
done
kill -TERM "$lab_pid"
status=0
wait "$lab_pid" || status=$?
[[ $status == 143 ]] || fail "SIGTERM gave status $status, not 143"
check_nothing_left "SIGTERM"

run_lab --no-such-option -- true
[[ $status == 2 ]] || fail "a usage error gave status $status, not 2"

echo "smoke-harness: ok (status, output, cwd, environment, time-out, signal, usage)"
