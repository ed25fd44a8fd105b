#!/usr/bin/env bash
# smoke-xfrm.sh (inside the lab): proves the lab kernel has real ESP, AH and
# IPComp: the man page's groups (manpage-groups.sh) are added, the states are
# exactly the expected ones, including the kernel's own IP-in-IP state that
# IPComp in tunnel mode brings (proto 4, SPI = the IPv4 source address; proto
# 41 for IPv6), the policies carry the three templates, and "delete" leaves
# nothing behind.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

fail() {
    echo "smoke-xfrm: FAIL: $*" >&2
    exit 1
}

# One line per state: "src dst proto spi mode", sorted.
state_summary() {
    ip xfrm state list | awk '
        /^src / { src = $2; dst = $4 }
        /^\tproto / { print src, dst, $2, $4, $8 }' | sort
}

# One line per policy: "selector dir: template protos/modes", sorted.
policy_summary() {
    ip xfrm policy list | awk '
        function flush() { if (sel != "") print sel, dir ":" tmpls }
        /^src / { flush(); sel = $2 " " $4; tmpls = "" }
        /^\tdir / { dir = $2 }
        /^\t\tproto / { tmpls = tmpls " " $2 "/" $4 "/" $8 }
        END { flush() }' | sort
}

[[ -z $(state_summary) && -z $(policy_summary) ]] || fail "the lab does not start empty"

"$here/manpage-groups.sh" add || fail "manpage-groups.sh add failed"

expected_states='192.168.2.100 192.168.2.110 4 0xc0a80264 tunnel
192.168.2.100 192.168.2.110 ah 0x187a101a transport
192.168.2.100 192.168.2.110 comp 0x000003d0 tunnel
192.168.2.100 192.168.2.110 esp 0x187a101b transport
3049:1::1 3049:1::2 41 0x00000001 tunnel
3049:1::1 3049:1::2 ah 0x187a101a transport
3049:1::1 3049:1::2 comp 0x000003d0 tunnel
3049:1::1 3049:1::2 esp 0x187a101b transport'
diff -u <(echo "$expected_states") <(state_summary) >&2 || fail "unexpected states"

templates='comp/0x000003d0/tunnel esp/0x187a101b/transport ah/0x187a101a/transport'
expected_policies="192.168.2.100/32 192.168.2.110/32 out: $templates
3049:1::1/128 3049:1::2/128 out: $templates"
diff -u <(echo "$expected_policies") <(policy_summary) >&2 || fail "unexpected policies"

"$here/manpage-groups.sh" delete || fail "manpage-groups.sh delete failed"
leftover="$(state_summary)$(policy_summary)"
[[ -z $leftover ]] || fail "left after delete: $leftover"

echo "smoke-xfrm: ok (ESP, AH, IPComp with IP-in-IP, IPv4 and IPv6)"
