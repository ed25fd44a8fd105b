#!/usr/bin/env bash
# fs-rules.sh (inside the lab): every rule of design.md "From XFRM to
# groups", end to end: kernel state made with `ip xfrm`, read back through a
# klipsfs mount, byte for byte, in both SAID forms.
#
#   fs-rules.sh PATH-TO-klipsfs
set -euo pipefail

prog=fs-rules
klipsfs=${1:?usage: fs-rules.sh PATH-TO-klipsfs}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=fs-lib.sh
source "$here/fs-lib.sh"

readonly me=192.168.2.100 peer=192.168.2.110
readonly enc='enc cbc(aes) 0x00112233445566778899aabbccddeeff'
readonly auth='auth hmac(sha1) 0x0123456789abcdef0123456789abcdef01234567'

# An ESP state: esp SRC DST SPI MODE [REQID]
esp() {
    # shellcheck disable=SC2086  # $enc and $auth are several words on purpose
    ip xfrm state add src "$1" dst "$2" proto esp spi "$3" mode "$4" reqid "${5:-1}" $enc $auth
}

reset_kernel() {
    ip xfrm policy flush
    ip xfrm state flush
    expect_listing "$man" "" "flushing did not empty the listing"
}

man=$work/man
kernel=$work/kernel
start_klipsfs "$man"
start_klipsfs "$kernel" --said-form=kernel

echo "$prog: the start-up log says what the lab kernel can hold"
grep -qF "kernel: XFRM yes; IPv4: esp yes, ah yes, ipcomp yes, ip-in-ip yes; IPv6: esp yes, ah yes, ipcomp yes, ip-in-ip yes" "$man.log" ||
    { cat "$man.log" >&2; fail "the start-up log does not say what the kernel can hold"; }
! grep -q "cannot hold" "$man.log" || fail "a warning about missing kernel support in the lab"

echo "$prog: an empty kernel is an empty file"
expect_listing "$man" ""

echo "$prog: ipsec_spigrp(5)'s two example groups, byte for byte"
"$here/manpage-groups.sh" add
states=$(ip xfrm state)
grep -q $'^\tproto 4 ' <<<"$states" || fail "no IPIP helper state: the test proves nothing"
grep -q $'^\tproto 41 ' <<<"$states" || fail "no IPv6 helper state: the test proves nothing"
expect_listing "$man" "tun.3d0@192.168.2.110 comp.3d0@192.168.2.110 esp.187a101b@192.168.2.110 ah.187a101a@192.168.2.110 
tun:3d0@3049:1::2 comp:3d0@3049:1::2 esp:187a101b@3049:1::2 ah:187a101a@3049:1::2 
"
expect_listing "$kernel" "tun0x3d0@192.168.2.110 comp0x3d0@192.168.2.110 esp0x187a101b@192.168.2.110 ah0x187a101a@192.168.2.110 
tun0x3d0@3049:1::2 comp0x3d0@3049:1::2 esp0x187a101b@3049:1::2 ah0x187a101a@3049:1::2 
"
"$here/manpage-groups.sh" delete
expect_listing "$man" "" "deleting the groups left lines behind"

echo "$prog: tunnel-mode esp is tun + esp; a state in no group has its own line"
esp $me $peer 0x100 tunnel
ip xfrm policy add src 10.1.0.0/16 dst 10.2.0.0/16 dir out \
    tmpl src $me dst $peer proto esp mode tunnel reqid 1
esp $me 192.168.2.120 0x300 transport 9
expect_listing "$man" "tun.100@192.168.2.110 esp.100@192.168.2.110 
esp.300@192.168.2.120 
"
reset_kernel

echo "$prog: a template resolving to nothing leaves its chain unlisted"
esp $me $peer 0x101 tunnel
ip xfrm policy add src 10.1.0.0/16 dst 10.2.0.0/16 dir out \
    tmpl src $me dst $peer proto esp mode tunnel reqid 1 \
    tmpl proto ah mode transport reqid 1
expect_listing "$man" "esp.101@192.168.2.110 
"
reset_kernel

echo "$prog: the same chain from out, in and fwd policies is listed once"
esp $peer $me 0x200 tunnel
for dir in in fwd; do
    ip xfrm policy add src 10.2.0.0/16 dst 10.1.0.0/16 dir $dir \
        tmpl src $peer dst $me proto esp mode tunnel reqid 1
done
ip xfrm policy add src 10.3.0.0/16 dst 10.1.0.0/16 dir in \
    tmpl src $peer dst $me proto esp mode tunnel reqid 1
expect_listing "$man" "tun.200@192.168.2.100 esp.200@192.168.2.100 
"
reset_kernel

echo "$prog: an optional comp on an inbound policy is skipped when absent"
esp $peer $me 0x201 transport
ip xfrm policy add src 10.2.0.0/16 dst 10.1.0.0/16 dir in \
    tmpl src $peer dst $me proto comp mode tunnel reqid 1 level use \
    tmpl proto esp mode transport reqid 1
expect_listing "$man" "tun.201@192.168.2.100 esp.201@192.168.2.100 
"
echo "$prog: ... and shown when present"
ip xfrm state add src $peer dst $me proto comp spi 0x3d1 mode tunnel reqid 1 comp deflate
expect_listing "$man" "tun.3d1@192.168.2.100 comp.3d1@192.168.2.100 esp.201@192.168.2.100 
"
reset_kernel

echo "$prog: during a rekey each complete chain is listed"
esp $me $peer 0x400 tunnel
ip xfrm policy add src 10.1.0.0/16 dst 10.2.0.0/16 dir out \
    tmpl src $me dst $peer proto esp mode tunnel reqid 1
expect_listing "$man" "tun.400@192.168.2.110 esp.400@192.168.2.110 
"
esp $me $peer 0x401 tunnel
expect_listing "$man" "tun.400@192.168.2.110 esp.400@192.168.2.110 
tun.401@192.168.2.110 esp.401@192.168.2.110 
"
ip xfrm state delete src $me dst $peer proto esp spi 0x400
expect_listing "$man" "tun.401@192.168.2.110 esp.401@192.168.2.110 
"
reset_kernel

echo "$prog: larval states are never listed"
# ALLOCSPI sends no event, so a daemon started afterwards must see the
# larval state in its first dump, and still not list it.
ip xfrm state allocspi src $me dst $peer proto esp min 0x500 max 0x5ff >/dev/null
[[ $(ip xfrm state) == src* ]] || fail "allocspi made no larval state"
esp $me 192.168.2.130 0x600 transport
late=$work/late
start_klipsfs "$late"
expect_listing "$late" "esp.600@192.168.2.130 
"
reset_kernel

stop_all
echo "$prog: PASS"
