#!/bin/sh
# `spigrp` against klipsfs's real FUSE layer (klipsfs_fake_fs: the FUSE side
# of klipsfs with a recording control sink and a listing from a file), as
# root: the control node opens, takes one line per command, and the listing
# reads through the ipsec_spigrp symlink.  Then the daemon is killed with
# SIGKILL, leaving a stale mount (ENOTCONN): both the write and the listing
# say so, naming the mount point and fusermount3 -u, and exit 1.
#
# Usage: tools_spigrp_fuse_test.sh SPIGRP KLIPSFS_FAKE_FS
set -u
spigrp=$1
fake_fs=$2
work=$(mktemp -d)
mkdir "$work/mnt"
fs_pid=
cleanup() {
    if findmnt -n --mountpoint "$work/mnt" >/dev/null; then
        umount -l "$work/mnt"
    fi
    if [ -n "$fs_pid" ] && kill -0 "$fs_pid" 2>/dev/null; then
        kill "$fs_pid"
        wait "$fs_pid"
    fi
    rm -rf "$work"
}
trap cleanup EXIT
fail() {
    echo "FAIL: $*"
    exit 1
}
nl='
'

# expect NAME WANT_STDERR ARGS...: spigrp ARGS exits 1, prints nothing on
# stdout and exactly WANT_STDERR on stderr.
expect() {
    name=$1
    printf '%s' "$2" >"$work/want_err"
    shift 2
    status=0
    "$spigrp" "$@" >"$work/out" 2>"$work/err" || status=$?
    [ "$status" = 1 ] || fail "$name: exit $status, want 1"
    [ ! -s "$work/out" ] || fail "$name: stdout: $(cat "$work/out")"
    cmp -s "$work/want_err" "$work/err" ||
        fail "$name: stderr:$nl$(diff -u "$work/want_err" "$work/err")"
    echo "ok: $name"
}

printf 'tun.1001@192.0.2.1 esp.100@192.0.2.1 \n' >"$work/listing"
: >"$work/log"
"$fake_fs" "$work/listing" "$work/log" "$work/mnt" 2>"$work/fs.err" &
fs_pid=$!
tries=0
until [ -e "$work/mnt/ipsec/control" ]; do
    tries=$((tries + 1))
    [ "$tries" -lt 100 ] || fail "klipsfs_fake_fs did not mount: $(cat "$work/fs.err")"
    sleep 0.1
done
export KLIPSFS_MOUNT="$work/mnt"

"$spigrp" --said tun.1001@192.0.2.1 esp.100@192.0.2.1 >"$work/out" 2>&1 ||
    fail "group: exit $?: $(cat "$work/out")"
"$spigrp" inet 192.0.2.1 0x100 esp >"$work/out" 2>&1 ||
    fail "ungroup: exit $?: $(cat "$work/out")"
[ ! -s "$work/out" ] || fail "success printed: $(cat "$work/out")"
printf 'group tun.1001@192.0.2.1 esp.100@192.0.2.1\nungroup esp.100@192.0.2.1\n' >"$work/want"
cmp -s "$work/want" "$work/log" || fail "control lines: $(cat "$work/log")"
echo "ok: group and ungroup through the FUSE control node"

"$spigrp" >"$work/out" 2>"$work/err" || fail "listing: exit $?: $(cat "$work/err")"
cmp -s "$work/listing" "$work/out" || fail "listing: $(cat "$work/out")"
echo "ok: listing through the FUSE mount"

# A daemon killed with SIGKILL leaves its mount behind: ENOTCONN.
kill -KILL "$fs_pid"
wait "$fs_pid" 2>/dev/null
fs_pid=
findmnt -n --mountpoint "$work/mnt" >/dev/null || fail "no stale mount after SIGKILL"
m=$work/mnt
stale="the klipsfs daemon has gone, leaving a stale mount at $m.  \`fusermount3 -u $m\` clears it; then start klipsfs again.$nl"
expect "stale mount: the control node" \
    "$spigrp: Trouble opening klipsfs control node $m/ipsec/control with error: $stale" \
    --said tun.1001@192.0.2.1 esp.100@192.0.2.1
expect "stale mount: the listing" "$spigrp: $m/ipsec_spigrp: $stale"
fusermount3 -u "$m" || fail "fusermount3 -u did not clear the stale mount"
