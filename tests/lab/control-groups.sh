#!/usr/bin/env bash
# control-groups.sh (inside the lab): groups made through klipsfs's control
# node are real.  Two network namespaces joined by a veth pair, A (10.0.0.1)
# and B (10.0.0.2), with the same SAs made by `ip xfrm`; B has its inbound
# policy (comp tunnel optional, esp, ah) made by `ip xfrm` too.  klipsfs
# follows A.  Then, in order:
#   1. `ipsec spigrp` (the real binary) groups tun comp esp ah; a `bind` line
#      on ipsec/control compiles it into A's outbound policy; large,
#      compressible pings reach B, every member's counters in A grow, B's
#      IPComp state decompressed them, and a capture on the veth shows AH
#      outermost with ESP inside it;
#   2. a second, unbound group (esp ah) is kept in the state file;
#   3. klipsfs killed with SIGKILL and started again lists the same groups,
#      and the bound one still carries pings;
#   4. `ipsec spigrp`'s errors that need the daemon: ENOENT (unknown SA),
#      EEXIST (SA already grouped), EINVAL (different destinations, a magic
#      SA), EPERM (no CAP_NET_ADMIN), EBUSY (SAs of a policy klipsfs did not
#      make), each with its whole stderr text and exit status; a tun before a
#      transport-mode SA can be grouped but not bound (EOPNOTSUPP);
#   5. unbinding: A sends in clear, B's inbound policy drops it, the ping
#      fails and A's counters stop;
#   6. `ip xfrm state delete` of a member dissolves its group (log line,
#      listing).
#
#   control-groups.sh PATH-TO-klipsfs PATH-TO-spigrp
set -euo pipefail

prog=control-groups
klipsfs=${1:?usage: control-groups.sh PATH-TO-klipsfs PATH-TO-spigrp}
spigrp=${2:?usage: control-groups.sh PATH-TO-klipsfs PATH-TO-spigrp}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
tests=$(dirname "$here")
# shellcheck source=fs-lib.sh
source "$here/fs-lib.sh"

readonly a=cg-a b=cg-b ip_a=10.0.0.1 ip_b=10.0.0.2
readonly enc='enc cbc(aes) 0x00112233445566778899aabbccddeeff'
readonly auth='auth hmac(sha1) 0x0123456789abcdef0123456789abcdef01234567'
readonly cpi=0x3d0 esp_spi=0x187a101b ah_spi=0x187a101a
trap 'cleanup; ip netns delete $a 2>/dev/null || true; ip netns delete $b 2>/dev/null || true' EXIT

mnt=$work/mnt
state=$work/state/groups
log=$mnt.log
export KLIPSFS_MOUNT=$mnt

# ---- the two namespaces and their SAs ------------------------------------
ip netns add $a
ip netns add $b
ip link add veth-a netns $a type veth peer name veth-b netns $b
ip -n $a addr add $ip_a/24 dev veth-a
ip -n $b addr add $ip_b/24 dev veth-b
for ns in $a $b; do
    ip -n $ns link set lo up
done
ip -n $a link set veth-a up
ip -n $b link set veth-b up
ip netns exec $a ping -c 1 -W 5 $ip_b >/dev/null || fail "no ping in clear across the veth"

# The group's SAs, A -> B, in both namespaces (same keys).
for ns in $a $b; do
    ip -n $ns xfrm state add src $ip_a dst $ip_b proto comp spi $cpi mode tunnel comp deflate
    # shellcheck disable=SC2086  # $enc and $auth are several words on purpose
    ip -n $ns xfrm state add src $ip_a dst $ip_b proto esp spi $esp_spi mode transport $enc $auth
    # shellcheck disable=SC2086
    ip -n $ns xfrm state add src $ip_a dst $ip_b proto ah spi $ah_spi mode transport $auth
done
# B accepts A's traffic only through comp (optional: small packets go
# uncompressed), esp, ah, innermost first.
ip -n $b xfrm policy add src $ip_a/32 dst $ip_b/32 dir in \
    tmpl src $ip_a dst $ip_b proto comp spi $cpi mode tunnel level use \
    tmpl proto esp spi $esp_spi mode transport \
    tmpl proto ah spi $ah_spi mode transport
# Unbound-group material in A (no traffic): esp.300 and ah.301 to B.
# shellcheck disable=SC2086
ip -n $a xfrm state add src $ip_a dst $ip_b proto esp spi 0x300 mode transport $enc $auth
# shellcheck disable=SC2086
ip -n $a xfrm state add src $ip_a dst $ip_b proto ah spi 0x301 mode transport $auth
# SAs used by a policy klipsfs did not make (10.0.0.3), and a transport-mode
# esp.500 for the refused tun.
# shellcheck disable=SC2086
ip -n $a xfrm state add src $ip_a dst 10.0.0.3 proto esp spi 0x400 mode transport $enc $auth
# shellcheck disable=SC2086
ip -n $a xfrm state add src $ip_a dst 10.0.0.3 proto ah spi 0x401 mode transport $auth
ip -n $a xfrm policy add src $ip_a/32 dst 10.0.0.3/32 dir out \
    tmpl proto esp spi 0x400 mode transport tmpl proto ah spi 0x401 mode transport
# shellcheck disable=SC2086
ip -n $a xfrm state add src $ip_a dst $ip_b proto esp spi 0x500 mode transport $enc $auth

# ---- helpers ----------------------------------------------------------------
# packets NS PROTO SPI [DST]: the state's packet counter.
packets() {
    ip -n "$1" -s xfrm state get src $ip_a dst "${4:-$ip_b}" proto "$2" spi "$3" |
        awk '/lifetime current:/ { getline; sub(/\(packets\)/, "", $2); print $2 }'
}

counters_a() { echo "$(packets $a comp $cpi) $(packets $a esp $esp_spi) $(packets $a ah $ah_spi)"; }

# control LINE: writes LINE to ipsec/control as one write(); prints
# "errno-name reply" (python reports the errno of the write).
control() {
    "$tests/control-write" "$mnt/ipsec/control" "$1"
}

expect_control() {
    local line=$1 want=$2 got
    got=$(control "$line")
    [[ $got == "$want" ]] || fail "\"$line\": expected \"$want\", got \"$got\""
}

# run_status WANT-STATUS WANT-STDERR COMMAND...: COMMAND exits WANT-STATUS
# with exactly WANT-STDERR on stderr (less its final newline).
run_status() {
    local want_status=$1 want_err=$2 status=0 err
    shift 2
    err=$("$@" 2>&1 >/dev/null) || status=$?
    [[ $status == "$want_status" ]] ||
        fail "$*: exit $status, expected $want_status ($err)"
    [[ $err == "$want_err" ]] ||
        fail "$*: stderr differs"$'\n'"--- expected"$'\n'"$want_err"$'\n'"--- got"$'\n'"$err"
}

# run_spigrp WANT-STATUS WANT-STDERR ARGS...: the real spigrp.
run_spigrp() {
    local want_status=$1 want_err=$2
    shift 2
    run_status "$want_status" "$want_err" "$spigrp" "$@"
}

start() {
    start_klipsfs "$mnt" --netns $a --state-file "$state" --log-level=info
}

# ping_b COUNT: large, compressible pings from A to B (IPComp skips small
# packets); fails when any is lost.
ping_b() { ip netns exec $a ping -q -c "$1" -i 0.2 -W 3 -s 1400 -p 00 $ip_b >/dev/null; }

readonly big_group="tun.3d0@$ip_b comp.3d0@$ip_b esp.187a101b@$ip_b ah.187a101a@$ip_b "
readonly small_group="esp.300@$ip_b ah.301@$ip_b "

# ---- 1. group, bind, traffic ----------------------------------------------------
start
"$spigrp" inet $ip_b $cpi tun inet $ip_b $cpi comp inet $ip_b $esp_spi esp \
    inet $ip_b $ah_spi ah || fail "spigrp could not group tun comp esp ah"
"$spigrp" | grep -qxF "$big_group" || fail "ipsec spigrp does not list the group"
expect_control "bind $ip_a/32 $ip_b/32 tun.3d0@$ip_b" "0 ok"
policy=$(ip -n $a xfrm policy list dir out src $ip_a/32 dst $ip_b/32)
grep -q "proto comp spi 0x0*${cpi#0x}" <<<"$policy" ||
    fail "no policy in A's kernel right after the bind returned:"$'\n'"$policy"

before=$(counters_a)
b_comp_before=$(packets $b comp $cpi)
# A capture on B's end of the veth; tcpdump says "listening" once ready.
ip netns exec $b tcpdump -i veth-b -n -U -c 3 -w "$work/capture" src $ip_a 2>"$work/tcpdump.err" &
dump=$!
wait_for 10 grep -q "listening on" "$work/tcpdump.err" || fail "tcpdump did not start"
ping_b 5 || fail "no ping through the bound group"
wait_for 10 bash -c "! kill -0 $dump 2>/dev/null" || { kill $dump; fail "tcpdump saw < 3 packets"; }
after=$(counters_a)
read -r c0 e0 h0 <<<"$before"
read -r c1 e1 h1 <<<"$after"
((c1 >= c0 + 5 && e1 >= e0 + 5 && h1 >= h0 + 5)) ||
    fail "counters of comp esp ah in A went from ($before) to ($after), not by 5 each"
(($(packets $b comp $cpi) >= b_comp_before + 5)) || fail "B's IPComp state decompressed nothing"
capture=$(tcpdump -n -r "$work/capture" 2>/dev/null)
echo "$capture" | grep "$ip_a > $ip_b" | head -1 |
    grep -q "AH(spi=$ah_spi,.*ESP(spi=$esp_spi," ||
    fail "the capture does not show AH outermost with ESP inside"$'\n'"$capture"
echo "$prog: group tun comp esp ah bound; counters ($before) -> ($after); AH over ESP on the wire"

# ---- 2. an unbound group kept in the state file ----------------------------------
"$spigrp" inet $ip_b 0x300 esp inet $ip_b 0x301 ah || fail "spigrp could not group esp ah"
grep -qxF "group esp.300@$ip_b ah.301@$ip_b" "$state" ||
    fail "the unbound group is not in the state file:"$'\n'"$(cat "$state")"
listing=$(cat "$mnt/ipsec_spigrp")
echo "$listing" | grep -qxF "$small_group" || fail "the unbound group is not listed"

# ---- 3. groups outlive the daemon -------------------------------------------------
pid=${daemon_of[$mnt]}
disown "$pid" # no "Killed" report from bash
kill -KILL "$pid"
wait_for 10 bash -c "! kill -0 $pid 2>/dev/null" || fail "klipsfs survived SIGKILL"
unset "daemon_of[$mnt]"
# The mount may already be going (auto_unmount): unmount if still there.
fusermount3 -u -z "$mnt" 2>/dev/null || true
wait_for 10 bash -c "! findmnt -n --mountpoint '$mnt' >/dev/null" || fail "stale mount stays"
start
expect_listing "$mnt" "$listing"$'\n' "the listing changed across SIGKILL and restart"
grep -q "control: 2 groups restored" "$log" || fail "no restore line in the log"
before=$(counters_a)
ping_b 3 || fail "the bound group carries no traffic after the restart"
read -r c0 e0 h0 <<<"$before"
read -r c1 e1 h1 <<<"$(counters_a)"
((c1 >= c0 + 3 && e1 >= e0 + 3 && h1 >= h0 + 3)) || fail "counters did not grow after restart"
echo "$prog: both groups survived SIGKILL; the bound one still carries traffic"

# ---- 4. errors of ipsec spigrp that need the daemon -----------------------------
run_spigrp 1 "$spigrp: klipsfs control write failed, returning -1 with errno=2.
device does not exist.  See FreeS/WAN installation procedure.
$spigrp: esp.999@$ip_b: no such SA" inet $ip_b 0x999 esp inet $ip_b 0x301 ah
run_spigrp 1 "$spigrp: klipsfs control write failed, returning -1 with errno=17.
SA already in use.  Delete old one first.
$spigrp: esp.300@$ip_b and ah.301@$ip_b are already in one group" \
    inet $ip_b 0x300 esp inet $ip_b 0x301 ah
# EINVAL from the daemon: SAs with different destinations, a magic SA.
run_spigrp 1 "$spigrp: klipsfs control write failed, returning -1 with errno=22.
Invalid argument, check kernel log messages for specifics.
$spigrp: esp.500@$ip_b and ah.401@10.0.0.3 have different destinations; a group has one" \
    inet $ip_b 0x500 esp inet 10.0.0.3 0x401 ah
run_spigrp 1 "$spigrp: klipsfs control write failed, returning -1 with errno=22.
Invalid argument, check kernel log messages for specifics.
$spigrp: %pass: KLIPS's magic SAs cannot be grouped" --said %pass esp.500@$ip_b
# root without CAP_NET_ADMIN: the write fails with EPERM; KLIPS's sentence
# (scripts may match it), then klipsfs's reason, which is the real one.
run_status 1 "$spigrp: klipsfs control write failed, returning -1 with errno=1.
access denied.  Check permissions.  Should be 600.
$spigrp: writing ipsec/control needs CAP_NET_ADMIN" \
    setpriv --inh-caps=-net_admin --bounding-set=-net_admin \
    "$spigrp" inet $ip_b 0x300 esp inet $ip_b 0x301 ah
# EBUSY: SAs of a policy klipsfs did not make.  The index is the kernel's:
# the first outbound policy of a new namespace.
run_spigrp 1 "$spigrp: klipsfs control write failed, returning -1 with errno=16.
Device or resource busy.
$spigrp: esp.400@10.0.0.3 is used by policy out 10.0.0.1/32 -> 10.0.0.3/32 (index 1), which klipsfs did not make; change it with the software that did" \
    inet 10.0.0.3 0x400 esp inet 10.0.0.3 0x401 ah
[[ $(cat "$mnt/ipsec_spigrp") == "$listing" ]] || fail "a failed spigrp changed the listing"
"$spigrp" inet $ip_b 0x501 tun inet $ip_b 0x500 esp || fail "tun before esp.500 not grouped"
# (python names errno 95, EOPNOTSUPP, ENOTSUP: the same number on Linux.)
expect_control "bind $ip_a/32 10.0.0.9/32 tun.501@$ip_b" \
    "ENOTSUP tun.501@$ip_b: a tun SA before the transport-mode esp.500@$ip_b needs user-space \
IP-in-IP, which klipsfs does not have yet; use a tunnel-mode state instead"
[[ -z $(ip -n $a xfrm policy list dst 10.0.0.9/32) ]] || fail "the refused bind left a policy"
expect_control "ungroup tun.501@$ip_b" "0 ok"
echo "$prog: ENOENT, EEXIST, EINVAL, EPERM, EBUSY and EOPNOTSUPP as expected"

# ---- 5. unbinding ------------------------------------------------------------------
expect_control "unbind $ip_a/32 $ip_b/32" "0 ok"
[[ -z $(ip -n $a xfrm policy list dir out src $ip_a/32 dst $ip_b/32) ]] ||
    fail "the policy is still in A's kernel after unbind returned"
before=$(counters_a)
! ip netns exec $a ping -q -c 2 -i 0.2 -W 1 -s 1400 -p 00 $ip_b >/dev/null ||
    fail "B answered a ping sent in clear despite its inbound policy"
[[ $(counters_a) == "$before" ]] || fail "counters moved after unbind: ($before) -> ($(counters_a))"
echo "$prog: unbound: A sends in clear, B drops it, counters stay at ($before)"

# ---- 6. a member deleted by other software -----------------------------------------
ip -n $a xfrm state delete src $ip_a dst $ip_b proto esp spi 0x300
wait_for "$deadline_s" grep -qF "dissolved esp.300@$ip_b ah.301@$ip_b: a member SA was deleted" \
    "$log" || { cat "$log" >&2; fail "no log line for the dissolved group"; }
wait_for "$deadline_s" bash -c "grep -qxF 'ah.301@$ip_b ' '$mnt/ipsec_spigrp'" ||
    fail "ah.301 is not listed alone after its group dissolved"
! grep -q "esp.300" "$state" || fail "the state file still holds the dissolved group"
echo "$prog: deleting esp.300 dissolved its group"

stop_all
echo "$prog: ok"
