#!/usr/bin/env bash
# smoke-netns.sh (inside the lab): proves network namespaces, veth and real
# IPsec traffic work in the lab: two namespaces joined by a veth pair ping
# each other in clear, then through ESP transport-mode SAs, and the outbound
# SA's packet counter shows that the ping really went through ESP.
set -euo pipefail

fail() {
    echo "smoke-netns: FAIL: $*" >&2
    exit 1
}

readonly a=smoke-a b=smoke-b
trap 'ip netns delete $a 2>/dev/null || true; ip netns delete $b 2>/dev/null || true' EXIT

ip netns add $a
ip netns add $b
ip link add veth-a netns $a type veth peer name veth-b netns $b
ip -n $a addr add 10.99.0.1/24 dev veth-a
ip -n $b addr add 10.99.0.2/24 dev veth-b
ip -n $a addr add fd00:99::1/64 dev veth-a nodad
ip -n $b addr add fd00:99::2/64 dev veth-b nodad
for ns in $a $b; do
    ip -n "$ns" link set lo up
    ip -n "$ns" link set "veth-${ns#smoke-}" up
done

ip netns exec $a ping -c 1 -W 5 10.99.0.2 >/dev/null || fail "no IPv4 ping across the veth pair"
ip netns exec $a ping -c 1 -W 5 fd00:99::2 >/dev/null || fail "no IPv6 ping across the veth pair"

readonly key=0x00112233445566778899aabbccddeeff auth=0x0123456789abcdef0123456789abcdef01234567
for ns in $a $b; do
    ip -n "$ns" xfrm state add src 10.99.0.1 dst 10.99.0.2 proto esp spi 0xa0b mode transport \
        enc 'cbc(aes)' $key auth 'hmac(sha1)' $auth
    ip -n "$ns" xfrm state add src 10.99.0.2 dst 10.99.0.1 proto esp spi 0xb0a mode transport \
        enc 'cbc(aes)' $key auth 'hmac(sha1)' $auth
done
ip -n $a xfrm policy add src 10.99.0.1 dst 10.99.0.2 dir out tmpl proto esp mode transport
ip -n $a xfrm policy add src 10.99.0.2 dst 10.99.0.1 dir in tmpl proto esp mode transport
ip -n $b xfrm policy add src 10.99.0.2 dst 10.99.0.1 dir out tmpl proto esp mode transport
ip -n $b xfrm policy add src 10.99.0.1 dst 10.99.0.2 dir in tmpl proto esp mode transport

ip netns exec $a ping -c 3 -i 0.2 -W 5 10.99.0.2 >/dev/null || fail "no ping through ESP"

# "lifetime current:" is followed by "N(bytes), M(packets)".
packets=$(ip -n $a -s xfrm state get src 10.99.0.1 dst 10.99.0.2 proto esp spi 0xa0b |
    awk '/lifetime current:/ { getline; sub(/\(packets\)/, "", $2); print $2 }')
[[ $packets == 3 ]] || fail "the outbound ESP SA counted '$packets' packets, not 3"

echo "smoke-netns: ok (veth ping over IPv4 and IPv6, 3 pings through ESP)"
