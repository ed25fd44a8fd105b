#!/bin/sh
# The real `spigrp` binary, and `ipsec spigrp` through the build tree's
# dispatcher: messages on the right stream and exit statuses for every path
# that needs no klipsfs daemon, plus the listing and a successful write
# against a fake mount (KLIPSFS_MOUNT pointing at a directory).
#
# Usage: tools_spigrp_test.sh SPIGRP IPSEC
set -u
spigrp=$1
ipsec=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0

# check NAME WANT_STATUS WANT_STDOUT WANT_STDERR -- ARGS...: runs spigrp.
check() {
    name=$1 want_status=$2 want_out=$3 want_err=$4
    shift 5
    "$@" >"$work/out" 2>"$work/err"
    status=$?
    printf '%s' "$want_out" >"$work/want_out"
    printf '%s' "$want_err" >"$work/want_err"
    if [ "$status" != "$want_status" ] ||
        ! cmp -s "$work/out" "$work/want_out" || ! cmp -s "$work/err" "$work/want_err"; then
        echo "FAIL: $name (exit $status, want $want_status)"
        diff -u "$work/want_out" "$work/out" | sed 's/^/  stdout: /'
        diff -u "$work/want_err" "$work/err" | sed 's/^/  stderr: /'
        failures=$((failures + 1))
    else
        echo "ok: $name"
    fi
}

usage() {
    p=$1
    printf 'usage: Note: position of options and arguments is important!\n'
    printf 'usage: %s [ --debug ] [ --label <label> ] af1 dst1 spi1 proto1 [ af2 dst2 spi2 proto2 [ af3 dst3 spi3 proto3 [ af4 dst4 spi4 proto4 ] ] ]\n' "$p"
    printf 'usage: %s [ --debug ] [ --label <label> ] --said <SA1> [ <SA2> [ <SA3> [ <SA4> ] ] ]\n' "$p"
    printf 'usage: %s --help\nusage: %s --version\nusage: %s\n' "$p" "$p" "$p"
    printf '        [ --debug ] is optional to any %s command.\n' "$p"
    printf '        [ --label <label> ] is optional to any %s command.\n' "$p"
}

P=$spigrp
nl='
'
export KLIPSFS_MOUNT="$work/mnt"

check "--help: usage on stdout, exit 1" 1 "$(usage "$P")$nl" "" -- "$spigrp" --help
check "--version: name and version on stderr, exit 1" 1 "" \
    "$P, klipsfs @KLIPSFS_VERSION@$nl" -- "$spigrp" --version
check "--label without its argument" 1 "" \
    "$P: --label option requires an argument.$nl" -- "$spigrp" --label
check "unknown option" 1 "$(usage "$P")$nl" \
    "expecting 5 or more args without --said, got 2.$nl" -- "$spigrp" --foo
check "--said alone" 1 "$(usage "$P --label x")$nl" \
    "expecting 3 or more args with --said, got 2.$nl" -- "$spigrp" --label x --said
check "five SAs with --said" 1 "$(usage "$P")$nl" \
    "expecting 3 to 6 args with --said (at most 4 SAs), got 7.$nl" -- \
    "$spigrp" --said a b c d e
check "bad SAID" 1 "" \
    "$P: Error, SA specifier lacks valid protocol prefix converting --sa argument:ESP.1@1.2.3.4$nl" \
    -- "$spigrp" --said ESP.1@1.2.3.4
check "bad proto before bad spi" 1 "" "$P: Badly formed proto: ipip$nl" -- \
    "$spigrp" inet 1.2.3.4 0xzz ipip
check "bad spi" 1 "" "$P: Badly formed spi: 0xzz$nl" -- "$spigrp" inet 1.2.3.4 0xzz esp
check "bad address family" 1 "" "$P: Address family ipx not supported$nl" -- \
    "$spigrp" ipx 1.2.3.4 0x100 esp
check "unknown host" 1 "" \
    "$P: Error, does not look numeric and name lookup failed converting 1th address argument:no-such-host.invalid$nl" \
    -- "$spigrp" inet 1.2.3.4 0x100 esp inet no-such-host.invalid 0x101 ah

# The listing: the mount's ipsec_spigrp, with the read's exit status.
check "listing without a mount" 1 "" \
    "$P: No spigrp - klipsfs is not mounted at $work/mnt (is the klipsfs daemon running?  KLIPSFS_MOUNT names another mount point)$nl" \
    -- "$spigrp"
mkdir -p "$work/mnt/ipsec/spigrp"
printf 'tun.1001@192.0.2.1 esp.100@192.0.2.1 \n' >"$work/mnt/ipsec/spigrp/all"
ln -s ipsec/spigrp/all "$work/mnt/ipsec_spigrp"
check "listing" 0 "tun.1001@192.0.2.1 esp.100@192.0.2.1 $nl" "" -- "$spigrp"
check "listing with --debug --label" 0 \
    "\"--debug\" option requested.${nl}argc=3 (4 incl. --debug option).${nl}using \"$P --label l\" as a label.${nl}...After check for --label option.${nl}tun.1001@192.0.2.1 esp.100@192.0.2.1 $nl" \
    "" -- "$spigrp" --debug --label l
# A failed write to stdout is not blamed on the listing: cat's words.
status=0
"$spigrp" >/dev/full 2>"$work/err" || status=$?
printf '%s: write error: No space left on device\n' "$P" >"$work/want_err"
if [ "$status" = 1 ] && cmp -s "$work/want_err" "$work/err"; then
    echo "ok: listing to a full stdout"
else
    echo "FAIL: listing to a full stdout (exit $status, want 1)"
    diff -u "$work/want_err" "$work/err" | sed 's/^/  stderr: /'
    failures=$((failures + 1))
fi
# An errno with no sentence of its own (ELOOP): cat's form, the path and the
# system's text.
mv "$work/mnt/ipsec_spigrp" "$work/ipsec_spigrp"
ln -s ipsec_spigrp "$work/mnt/ipsec_spigrp"
check "listing: other errors in cat's words" 1 "" \
    "$P: $work/mnt/ipsec_spigrp: Too many levels of symbolic links$nl" -- "$spigrp"
rm "$work/mnt/ipsec_spigrp"
mv "$work/ipsec_spigrp" "$work/mnt/ipsec_spigrp"

# Writing to the control node.
check "no control node" 1 "" \
    "$P: Trouble opening klipsfs control node $work/mnt/ipsec/control with error: not found.  Is klipsfs mounted?  (KLIPSFS_MOUNT names the mount point.)$nl" \
    -- "$spigrp" --said esp.100@192.0.2.1 ah.101@192.0.2.1
ln -s control "$work/mnt/ipsec/control"
check "control node: other open errors in the system's words" 1 "" \
    "$P: Trouble opening klipsfs control node $work/mnt/ipsec/control with error: Too many levels of symbolic links.$nl" \
    -- "$spigrp" --said esp.100@192.0.2.1 ah.101@192.0.2.1
rm "$work/mnt/ipsec/control"
: >"$work/mnt/ipsec/control"
check "group: one line, exit 0, silent" 0 "" "" -- \
    "$spigrp" inet localhost 0x1001 tun inet 127.0.0.1 256 esp inet 127.0.0.1 0401 ah
check "ungroup: one SA" 0 "" "" -- "$spigrp" --said esp0x100@127.0.0.1
printf 'group tun.1001@127.0.0.1 esp.100@127.0.0.1 ah.101@127.0.0.1\nungroup esp.100@127.0.0.1\n' \
    >"$work/want_control"
if cmp -s "$work/want_control" "$work/mnt/ipsec/control"; then
    echo "ok: control lines"
else
    echo "FAIL: control lines"
    diff -u "$work/want_control" "$work/mnt/ipsec/control"
    failures=$((failures + 1))
fi
rm "$work/mnt/ipsec/control"
ln -s /dev/full "$work/mnt/ipsec/control"
check "write failure: KLIPS's line once, then the errno's sentence" 1 "" \
    "$P: klipsfs control write failed, returning -1 with errno=28.${nl}No space left on device.$nl" \
    -- "$spigrp" --said esp.100@192.0.2.1 ah.101@192.0.2.1

# Through the dispatcher, as users type it: argv[0] is the full path.
check "ipsec spigrp --help" 1 "$(usage "$(dirname "$ipsec")/spigrp")$nl" "" -- \
    "$ipsec" spigrp --help
check "ipsec --directory" 0 "$(dirname "$ipsec")$nl" "" -- "$ipsec" --directory

[ "$failures" = 0 ] || { echo "$failures failed"; exit 1; }
echo "all passed"
