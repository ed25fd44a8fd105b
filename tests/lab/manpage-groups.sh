#!/usr/bin/env bash
# manpage-groups.sh: makes, with `ip xfrm` alone, the two example groups of the
# ipsec_spigrp(5) man page in the current network namespace, so that the lab
# tests (and tools/demo) start from the same known kernel state:
#
#   tun.3d0@192.168.2.110 comp.3d0@192.168.2.110 esp.187a101b@192.168.2.110
#       ah.187a101a@192.168.2.110
#   tun:3d0@3049:1::2 comp:3d0@3049:1::2 esp:187a101b@3049:1::2 ah:187a101a@3049:1::2
#
# For each destination: an IPComp state (CPI 0x3d0, deflate) in tunnel mode,
# which makes the kernel add its own IP-in-IP state (proto 4, or 41 for IPv6);
# an ESP state (SPI 0x187a101b, cbc(aes) + hmac(sha1)) and an AH state (SPI
# 0x187a101a, hmac(sha1)), both in transport mode; and an outbound policy from
# the local host to the destination whose templates are, innermost first,
# comp (tunnel: the group's tun), esp, ah.  IPComp is required on this
# outbound policy: only inbound policies make it optional ("level use"),
# because a peer may send small packets uncompressed.
#
#   manpage-groups.sh [add|delete]      (needs ESP, AH and IPComp: the lab)
# "delete" removes exactly what "add" made.  Keys are fixed test keys.
set -euo pipefail

readonly esp_spi=0x187a101b ah_spi=0x187a101a cpi=0x3d0
readonly enc_key=0x00112233445566778899aabbccddeeff
readonly auth_key=0x0123456789abcdef0123456789abcdef01234567

# Source and destination of each group: the man page gives the destinations.
readonly groups=("192.168.2.100 192.168.2.110" "3049:1::1 3049:1::2")

add_group() {
    local src=$1 dst=$2 host_len=32
    [[ $dst == *:* ]] && host_len=128

    ip xfrm state add src "$src" dst "$dst" proto comp spi "$cpi" mode tunnel \
        comp deflate
    ip xfrm state add src "$src" dst "$dst" proto esp spi "$esp_spi" mode transport \
        enc 'cbc(aes)' "$enc_key" auth 'hmac(sha1)' "$auth_key"
    ip xfrm state add src "$src" dst "$dst" proto ah spi "$ah_spi" mode transport \
        auth 'hmac(sha1)' "$auth_key"
    ip xfrm policy add src "$src/$host_len" dst "$dst/$host_len" dir out \
        tmpl src "$src" dst "$dst" proto comp spi "$cpi" mode tunnel \
        tmpl src "$src" dst "$dst" proto esp spi "$esp_spi" mode transport \
        tmpl src "$src" dst "$dst" proto ah spi "$ah_spi" mode transport
}

delete_group() {
    local src=$1 dst=$2 host_len=32
    [[ $dst == *:* ]] && host_len=128

    ip xfrm policy delete src "$src/$host_len" dst "$dst/$host_len" dir out
    ip xfrm state delete src "$src" dst "$dst" proto ah spi "$ah_spi"
    ip xfrm state delete src "$src" dst "$dst" proto esp spi "$esp_spi"
    # Deleting the IPComp state drops the kernel's IP-in-IP state with it.
    ip xfrm state delete src "$src" dst "$dst" proto comp spi "$cpi"
}

main() {
    local action=${1:-add} group
    case $action in
    add | delete) ;;
    *)
        echo "usage: manpage-groups.sh [add|delete]" >&2
        exit 2
        ;;
    esac
    for group in "${groups[@]}"; do
        # shellcheck disable=SC2086  # "src dst", split on purpose
        "${action}_group" $group
    done
}

main "$@"
