#!/usr/bin/env bash
# smoke-xfrm-policy.sh: proves that the host kernel's XFRM takes policies in a
# network namespace of the test's own: an outbound policy with an ESP
# template is added, listed exactly as expected, and deleted.  The host
# kernel has no ESP, so no state is added here (that is the lab's job).
#
#   smoke-xfrm-policy.sh       (as root; the namespace is always removed)
set -euo pipefail

fail() {
    echo "smoke-xfrm-policy: FAIL: $*" >&2
    exit 1
}

ns=klipsfs-smoke-$$-$RANDOM
ip netns add "$ns" || fail "cannot add the network namespace $ns"
trap 'ip netns delete "$ns"' EXIT

ip -n "$ns" xfrm policy add src 10.1.0.0/24 dst 10.2.0.0/24 dir out priority 100 \
    tmpl src 192.0.2.1 dst 192.0.2.2 proto esp spi 0x187a101b reqid 7 mode tunnel ||
    fail "adding the policy failed"

expected=$(printf '%s\n' \
    'src 10.1.0.0/24 dst 10.2.0.0/24 ' \
    $'\tdir out priority 100 ptype main ' \
    $'\ttmpl src 192.0.2.1 dst 192.0.2.2' \
    $'\t\tproto esp spi 0x187a101b reqid 7 mode tunnel')
listed=$(ip -n "$ns" xfrm policy list)
diff -u <(echo "$expected") <(echo "$listed") >&2 || fail "the policy is not listed as added"

if ip xfrm policy list | grep -q '^src 10.1.0.0/24 dst 10.2.0.0/24 $'; then
    fail "the policy leaked into the host's own network namespace"
fi

ip -n "$ns" xfrm policy delete src 10.1.0.0/24 dst 10.2.0.0/24 dir out ||
    fail "deleting the policy failed"
listed=$(ip -n "$ns" xfrm policy list)
[[ -z $listed ]] || fail "policies remain after the delete: $listed"

echo "smoke-xfrm-policy: ok (add, list, delete in namespace $ns)"
