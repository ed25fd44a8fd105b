#!/usr/bin/env bash
# The control node of the real klipsfs daemon on this host's kernel (root).
# The host has XFRM policies but no ESP/AH/IPComp states, so what is shown
# here is what needs no kernel SA: the node's errors, with nothing changed
# by a failed command, and the one group that is all user space (two tun
# SAs) through the state file, across a SIGKILL.  Real SAs, binding and
# traffic are in the lab (tests/lab/control-groups.sh).
#
#   control_node_test.sh PATH-TO-klipsfs
set -euo pipefail

klipsfs=${1:?usage: control_node_test.sh PATH-TO-klipsfs}
tests=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/klipsfs-control.XXXXXX")
ns=klipsfs-control-$$
mnt=$work/mnt
state=$work/state/groups
daemon=

fail() {
    echo "control_node_test: FAIL: $*" >&2
    [[ -f $work/log ]] && sed 's/^/  klipsfs: /' "$work/log" >&2
    exit 1
}

is_mounted() { findmnt -n --mountpoint "$mnt" >/dev/null; }

cleanup() {
    local status=$?
    if is_mounted; then fusermount3 -u -z "$mnt" 2>/dev/null || true; fi
    if [[ -n $daemon ]]; then kill -KILL "$daemon" 2>/dev/null || true; fi
    ip netns delete "$ns" 2>/dev/null || true
    rm -rf "$work"
    exit "$status"
}
trap cleanup EXIT

# Polls a command every 10 ms for up to $1 seconds.
wait_for() {
    local deadline=$((SECONDS + $1 + 1))
    shift
    until "$@"; do
        ((SECONDS < deadline)) || return 1
        sleep 0.01
    done
}

start() {
    mkdir -p "$mnt"
    "$klipsfs" -f --netns "$ns" --state-file "$state" --log-level=info "$mnt" 2>>"$work/log" &
    daemon=$!
    wait_for 20 is_mounted || fail "klipsfs did not mount"
}

# control LINE [PREFIX...]: one write() of LINE on a fresh open of the node;
# prints "ERRNO-NAME reply".  PREFIX runs the writer (setpriv ...).
control() {
    local line=$1
    shift
    "$@" "$tests/control-write" "$mnt/ipsec/control" "$line"
}

kernel_policies() { ip -n "$ns" xfrm policy list; }

# expect LINE WANT: LINE's result is WANT, and when it failed, neither the
# kernel's policies, nor the state file, nor the listing changed.
expect() {
    local line=$1 want=$2 got policies file listing
    policies=$(kernel_policies)
    file=$(cat "$state" 2>/dev/null || true)
    listing=$(cat "$mnt/ipsec_spigrp")
    got=$(control "$line")
    [[ $got == "$want" ]] || fail "\"$line\": expected \"$want\", got \"$got\""
    [[ $got == 0\ * ]] && return
    [[ $(kernel_policies) == "$policies" ]] || fail "\"$line\" failed but changed the policies"
    [[ $(cat "$state" 2>/dev/null || true) == "$file" ]] ||
        fail "\"$line\" failed but changed the state file"
    [[ $(cat "$mnt/ipsec_spigrp") == "$listing" ]] ||
        fail "\"$line\" failed but changed the listing"
}

ip netns add "$ns"
# A policy klipsfs did not make, on the eroute 10.1.0.0/24 -> 10.2.0.0/24.
ip -n "$ns" xfrm policy add src 10.1.0.0/24 dst 10.2.0.0/24 dir out \
    tmpl src 10.0.0.1 dst 10.0.0.2 proto esp spi 0x100 mode tunnel
start
[[ ! -e $state ]] || fail "a state file was written before there was anything to keep"

echo "control_node_test: writing without CAP_NET_ADMIN is EPERM"
got=$(control "group tun.1@10.0.0.2 tun.2@10.0.0.2" \
    setpriv --inh-caps=-net_admin --bounding-set=-net_admin)
[[ $got == "EPERM writing ipsec/control needs CAP_NET_ADMIN" ]] || fail "without CAP_NET_ADMIN: $got"
[[ -z $(cat "$mnt/ipsec_spigrp") ]] || fail "a refused writer changed the listing"

# Tables: LINE|RESULT (errno name, then the reply), one case a line; the
# replies are long, the table lines too.
echo "control_node_test: lines that do not parse are EINVAL, with the reason"
while IFS='|' read -r line want; do
    expect "$line" "$want"
done <<'EOF'
bogus|EINVAL unknown command "bogus"; the commands are group, ungroup, bind and unbind
group esp.100@10.0.0.2|EINVAL group needs 2 to 4 SAIDs, got 1 word
group tun.1@10.0.0.2 tun.2@10.0.0.2 tun.3@10.0.0.2 tun.4@10.0.0.2 tun.5@10.0.0.2|EINVAL group needs 2 to 4 SAIDs, got 5 words
bind 10.1.0.0/33 10.2.0.0/24 esp.100@10.0.0.2|EINVAL bad subnet "10.1.0.0/33": prefix length must be 0 to 32
bind 10.1.0.1/24 10.2.0.0/24 esp.100@10.0.0.2|EINVAL bad subnet "10.1.0.1/24": host bits set (the subnet is 10.1.0.0/24)
bind 10.1.0.0/24 10.2.0.0/24 bogus|EINVAL bad SAID "bogus": no @ in SA specifier
unbind 10.1.0.0/24|EINVAL unbind needs SRC/LEN DST/LEN, got 1 word
EOF

echo "control_node_test: unknown SAs and eroutes are ENOENT, a foreign policy EBUSY"
while IFS='|' read -r line want; do
    expect "$line" "$want"
done <<'EOF'
group esp.100@10.0.0.2 ah.101@10.0.0.2|ENOENT esp.100@10.0.0.2: no such SA
ungroup esp.100@10.0.0.2|ENOENT esp.100@10.0.0.2: no such SA
bind 10.3.0.0/24 10.4.0.0/24 esp.100@10.0.0.2|ENOENT esp.100@10.0.0.2: no such SA
unbind 10.3.0.0/24 10.4.0.0/24|ENOENT no eroute 10.3.0.0/24 -> 10.4.0.0/24
unbind 10.1.0.0/24 10.2.0.0/24|EBUSY the eroute 10.1.0.0/24 -> 10.2.0.0/24 is policy out 10.1.0.0/24 -> 10.2.0.0/24 (index 1), which klipsfs did not make
bind 10.1.0.0/24 10.2.0.0/24 tun.1@10.0.0.2|EBUSY the eroute 10.1.0.0/24 -> 10.2.0.0/24 would replace policy out 10.1.0.0/24 -> 10.2.0.0/24 (index 1), which klipsfs did not make
EOF

echo "control_node_test: a comp SA on a kernel without IPComp: ENOENT that says why"
# Whether this kernel can hold an IPComp state, asked of ip xfrm in a
# namespace of its own (klipsfs probes the same way, independently).
probe=klipsfs-control-probe-$$
ip netns add "$probe"
if ip -n "$probe" xfrm state add src 10.0.0.1 dst 10.0.0.2 proto comp spi 0x3d0 comp deflate \
    2>/dev/null; then
    ipcomp=yes
    why=""
else
    ipcomp=no
    why=" (this kernel has no IPComp for IPv4, so no comp SA can exist in it, and klipsfs does not yet compress in user space)"
fi
ip netns delete "$probe"
grep -q "kernel: XFRM yes; IPv4: esp [a-z]*, ah [a-z]*, ipcomp $ipcomp," "$work/log" ||
    fail "the start-up log does not say ipcomp $ipcomp, as ip xfrm found"
expect "group comp.3d0@10.0.0.2 tun.1@10.0.0.2" "ENOENT comp.3d0@10.0.0.2: no such SA$why"

echo "control_node_test: a group of two tun SAs lives in the state file, across SIGKILL"
# The listing shows a recorded group only when it has a kernel SA
# (compat/translate.h), so this one is seen through the state file and
# through EEXIST.
expect "group tun.1@10.0.0.2 tun.2@10.0.0.2" "0 ok"
grep -qxF "group tun.1@10.0.0.2 tun.2@10.0.0.2" "$state" || fail "state file: $(cat "$state")"
expect "group tun.3@10.0.0.2 tun.2@10.0.0.2" \
    "EEXIST tun.2@10.0.0.2 already has tun.1@10.0.0.2 inside it"
disown "$daemon" # no "Killed" report from bash
kill -KILL "$daemon"
wait_for 10 bash -c "! kill -0 $daemon 2>/dev/null" || fail "klipsfs survived SIGKILL"
# The mount may already be going (auto_unmount): unmount if still there.
fusermount3 -u -z "$mnt" 2>/dev/null || true
wait_for 10 bash -c "! findmnt -n --mountpoint '$mnt' >/dev/null" || fail "stale mount stays"
start
grep -q "control: 1 groups restored" "$work/log" || fail "no restore line in the log"
expect "group tun.3@10.0.0.2 tun.2@10.0.0.2" \
    "EEXIST tun.2@10.0.0.2 already has tun.1@10.0.0.2 inside it"
expect "ungroup tun.2@10.0.0.2" "0 ok"
expect "group tun.2@10.0.0.2 tun.3@10.0.0.2" "0 ok"
expect "ungroup tun.3@10.0.0.2" "0 ok"
! grep -q "^group" "$state" || fail "state file after ungroup: $(cat "$state")"
grep -q "uid 0 pid [0-9]*: ungrouped tun.1@10.0.0.2 tun.2@10.0.0.2" "$work/log" ||
    fail "the change is not in the log"

echo "control_node_test: a state file that does not parse is refused whole and logged"
kill -TERM "$daemon"
wait "$daemon" || fail "klipsfs exited with $? on SIGTERM"
daemon=
printf 'klipsfs-control-state 1\ngroup tun.1@10.0.0.2\n' >"$state"
start
grep -q "state file $state refused, starting without it" "$work/log" ||
    fail "no log line for the bad state file"
expect "group tun.1@10.0.0.2 tun.3@10.0.0.2" "0 ok" # tun.1 is in no group
echo "control_node_test: ok"
