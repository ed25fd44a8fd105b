#!/usr/bin/env bash
# smoke-fuse.sh: proves that FUSE works where it runs (on the host, and inside
# the lab through tests/lab/smoke-fuse.sh): the tiny file system
# klipsfs_smoke_fusefs (smoke-fusefs.cc) mounts, serves its one file exactly,
# refuses a write, unmounts, and its daemon then exits with status 0.
#
#   smoke-fuse.sh PATH-TO-klipsfs_smoke_fusefs       (as root)
set -euo pipefail

fs_program=${1:?usage: smoke-fuse.sh PATH-TO-klipsfs_smoke_fusefs}
readonly expected_text='klipsfs smoke file system'
readonly deadline_s=10

fail() {
    echo "smoke-fuse: FAIL: $*" >&2
    exit 1
}

work=$(mktemp -d "${TMPDIR:-/tmp}/klipsfs-smoke-fuse.XXXXXX")
mnt=$work/mnt
mkdir "$mnt"
fs_pid=

is_mounted() { findmnt -n --mountpoint "$mnt" >/dev/null; }
fs_running() { [[ -n $fs_pid ]] && kill -0 "$fs_pid" 2>/dev/null; }
fs_gone() { ! fs_running; }

cleanup() {
    if is_mounted; then
        umount -l "$mnt"
    fi
    if fs_running; then
        kill "$fs_pid"
        wait "$fs_pid" || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

# Polls CONDITION (a command) until it holds or the deadline passes.
wait_for() {
    local deadline=$((SECONDS + deadline_s))
    until "$@"; do
        ((SECONDS < deadline)) || return 1
        sleep 0.05
    done
}

mounted_or_fs_gone() { is_mounted || ! fs_running; }

"$fs_program" "$mnt" -f -s -o fsname=klipsfs-smoke,subtype=klipsfs-smoke &
fs_pid=$!
wait_for mounted_or_fs_gone || fail "no mount on $mnt after ${deadline_s}s"
fs_running || fail "$fs_program exited before mounting"
is_mounted || fail "$fs_program runs but $mnt is not mounted"

fstype=$(findmnt -n -o FSTYPE --mountpoint "$mnt")
[[ $fstype == fuse.klipsfs-smoke ]] || fail "file system type is '$fstype', not fuse.klipsfs-smoke"

listing=$(ls -A "$mnt")
[[ $listing == hello ]] || fail "the root lists '$listing', not just 'hello'"

diff -u <(printf '%s\n' "$expected_text") "$mnt/hello" >&2 ||
    fail "$mnt/hello does not hold the expected text"

if (echo changed >"$mnt/hello") 2>/dev/null; then
    fail "writing to the read-only file succeeded"
fi
[[ ! -e $mnt/missing ]] || fail "a file that the file system does not serve exists"

umount "$mnt" || fail "umount $mnt failed"
wait_for fs_gone || fail "$fs_program still runs ${deadline_s}s after the unmount"
fs_status=0
wait "$fs_pid" || fs_status=$?
fs_pid=
((fs_status == 0)) || fail "$fs_program exited with status $fs_status after the unmount"
! is_mounted || fail "$mnt is still mounted"

echo "smoke-fuse: ok (mount, read, refused write, unmount)"
