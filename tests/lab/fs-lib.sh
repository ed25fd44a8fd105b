#!/usr/bin/env bash
# fs-lib.sh: shared by the lab tests of the klipsfs file system (fs-*.sh).
# Source it; it defines:
#   start_klipsfs MNT [ARGS...]   start klipsfs -f on MNT (a new directory
#                                 under $work), wait for the mount
#   expect_listing MNT TEXT [MSG] MNT/ipsec_spigrp, opened now, is TEXT: a
#                                 change made before is in the next open;
#                                 else fail with a diff (and, when the text
#                                 came later within $deadline_s, how late)
#   stop_all                      SIGTERM every daemon started, check each
#                                 exits 0 and leaves no mount behind
#   fail MESSAGE                  print and exit 1
# The caller sets $klipsfs (the daemon's path) and $prog (for messages).
set -euo pipefail

deadline_s=${deadline_s:-5}
work=$(mktemp -d "${TMPDIR:-/tmp}/klipsfs-lab.XXXXXX")
declare -A daemon_of=()

fail() {
    echo "$prog: FAIL: $*" >&2
    exit 1
}

is_mounted() { findmnt -n --mountpoint "$1" >/dev/null; }

cleanup() {
    local mnt
    for mnt in "${!daemon_of[@]}"; do
        is_mounted "$mnt" && fusermount3 -u -z "$mnt" 2>/dev/null
        kill -KILL "${daemon_of[$mnt]}" 2>/dev/null || true
    done
    rm -rf "$work"
}
trap cleanup EXIT

# Polls `cond` (a command) every 10 ms until it succeeds or $1 seconds pass.
wait_for() {
    local seconds=$1
    shift
    local end=$((SECONDS + seconds + 1)) # whole seconds; +1 so a short wait is not cut
    until "$@"; do
        ((SECONDS < end)) || return 1
        sleep 0.01
    done
}

start_klipsfs() {
    local mnt=$1
    shift
    mkdir -p "$mnt"
    # The state file defaults to a path on the shared host file system.
    "$klipsfs" -f --state-file "$mnt.groups" "$@" "$mnt" 2>"$mnt.log" &
    daemon_of[$mnt]=$!
    wait_for 20 is_mounted "$mnt" || { cat "$mnt.log" >&2; fail "klipsfs did not mount $mnt"; }
}

listing_is() { [[ $(cat "$1/ipsec_spigrp"; echo x) == "$2"x ]]; }

expect_listing() {
    local mnt=$1 text=$2 got
    got=$(cat "$mnt/ipsec_spigrp"; echo x)
    [[ $got == "$text"x ]] && return 0
    echo "--- expected ($mnt)" >&2
    printf '%s' "$text" >&2
    echo "--- got" >&2
    printf '%s' "${got%x}" >&2
    echo "--- ip xfrm state / policy" >&2
    ip xfrm state >&2
    ip xfrm policy >&2
    local started=$EPOCHREALTIME
    if wait_for "$deadline_s" listing_is "$mnt" "$text"; then
        fail "${3:-listing differs} at the first open; the expected text came" \
            "$(awk -v a="$started" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.0f", (b - a) * 1000 }')" \
            "ms later"
    fi
    fail "${3:-listing differs}"
}

stop_all() {
    local mnt status
    for mnt in "${!daemon_of[@]}"; do
        kill -TERM "${daemon_of[$mnt]}"
        status=0
        wait "${daemon_of[$mnt]}" || status=$?
        ((status == 0)) || { cat "$mnt.log" >&2; fail "klipsfs on $mnt exited with $status"; }
        ! is_mounted "$mnt" || fail "$mnt is still mounted after SIGTERM"
        [[ -z $(ls -A "$mnt") ]] || fail "$mnt is not empty after unmount"
        unset "daemon_of[$mnt]"
    done
}
