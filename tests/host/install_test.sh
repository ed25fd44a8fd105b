#!/usr/bin/env bash
# `cmake --install` of a build tree, twice: into a temporary prefix (DESTDIR
# unset) and with DESTDIR=<tmp> --prefix /usr, as packaging does.  Each time
# it checks that every piece lands where tools/install-spigrp.cmake.in,
# fs/CMakeLists.txt and man/*.cmake put it, runs the installed `ipsec`
# dispatcher and `spigrp`, lints the man pages (groff, man -l) and, when
# systemd-analyze exists, verifies the unit.  Registered by install.cmake.
#
#   install_test.sh CMAKE BUILD_DIR MAN_SOURCE_DIR VERSION KLIPSFS SPIGRP \
#                   SBINDIR LIBEXECDIR LIBDIR MANDIR IPSEC_EXECDIR IPSEC_DISPATCHER
#
# KLIPSFS and SPIGRP are the built binaries (checked before installing); the
# dirs are CMAKE_INSTALL_{SBIN,LIBEXEC,LIB,MAN}DIR, and the last two are the
# KLIPSFS_IPSEC_EXECDIR and KLIPSFS_IPSEC_DISPATCHER settings of the build.
set -euo pipefail

(($# == 12)) || {
    echo "usage: install_test.sh CMAKE BUILD_DIR MAN_SOURCE_DIR VERSION KLIPSFS SPIGRP" \
        "SBINDIR LIBEXECDIR LIBDIR MANDIR IPSEC_EXECDIR IPSEC_DISPATCHER" >&2
    exit 2
}
cmake=$1 build=$2 man_source=$3 version=$4 built_klipsfs=$5 built_spigrp=$6
sbindir=$7 libexecdir=$8 libdir=$9 mandir=${10} execdir_setting=${11} dispatcher_setting=${12}
work=$(mktemp -d "${TMPDIR:-/tmp}/klipsfs-install.XXXXXX")
chmod 755 "$work" # man(1) may read the pages as another user
pages=(man8/klipsfs.8 man5/ipsec_spigrp.5 man8/ipsec_spigrp.8)
nl=$'\n'

fail() {
    echo "install_test: FAIL: $*" >&2
    exit 1
}

cleanup() {
    local status=$?
    rm -rf "$work"
    exit "$status"
}
trap cleanup EXIT

note() { echo "install_test: $*"; }

# under PREFIX DIR: DIR as installed with PREFIX (a CMAKE_INSTALL_*DIR may be absolute).
under() { if [[ $2 == /* ]]; then echo "$2"; else echo "$1/$2"; fi; }

# The `ipsec` command install-spigrp.cmake.in would find (find_program), if it
# answers --directory with a directory: spigrp then goes there, not under the prefix.
system_ipsec_dir() {
    local ipsec dir
    ipsec=$(PATH=$PATH:/usr/local/sbin:/usr/sbin:/sbin:/usr/local/bin:/usr/bin:/bin \
        command -v ipsec) || return 1
    dir=$("$ipsec" --directory 2>/dev/null) || return 1
    [[ -d $dir ]] && echo "$ipsec runs commands from $dir"
}

# run NAME WANT_STATUS COMMAND...: runs COMMAND, output in $work/NAME.{out,err}; fails
# unless it exits WANT_STATUS ("nonzero" for any but 0).
run() {
    local name=$1 want=$2 status=0
    shift 2
    "$@" >"$work/$name.out" 2>"$work/$name.err" || status=$?
    if [[ $want == nonzero && $status == 0 ]] || [[ $want != nonzero && $status != "$want" ]]
    then
        fail "\`$*' exited $status, expected $want${nl}stdout: $(cat "$work/$name.out")" \
            "${nl}stderr: $(cat "$work/$name.err")"
    fi
}

# The usage text of KLIPS's spigrp (spec/klips-text.md §5.2) for progname $1.
usage() {
    local p=$1
    echo 'usage: Note: position of options and arguments is important!'
    echo "usage: $p [ --debug ] [ --label <label> ] af1 dst1 spi1 proto1" \
        "[ af2 dst2 spi2 proto2 [ af3 dst3 spi3 proto3 [ af4 dst4 spi4 proto4 ] ] ]"
    echo "usage: $p [ --debug ] [ --label <label> ] --said <SA1> [ <SA2> [ <SA3> [ <SA4> ] ] ]"
    echo "usage: $p --help"
    echo "usage: $p --version"
    echo "usage: $p"
    echo "        [ --debug ] is optional to any $p command."
    echo "        [ --label <label> ] is optional to any $p command."
}

# same NAME FILE WANT: FILE holds exactly WANT (plus a final newline).
same() {
    [[ $(cat "$2") == "$3" ]] || fail "$1: expected${nl}$3${nl}got${nl}$(cat "$2")"
}

# check_install ROOT PREFIX: the tree that `DESTDIR=ROOT cmake --install --prefix
# PREFIX` made.  Paths inside the files are PREFIX's; on disk they are under ROOT.
check_install() {
    local root=$1 prefix=$2 sbin execdir unitdir unit exec page dispatcher
    sbin=$(under "$prefix" "$sbindir")
    [[ -f $root$sbin/klipsfs && -x $root$sbin/klipsfs ]] ||
        fail "no executable daemon at $root$sbin/klipsfs"
    run klipsfs-version 0 "$root$sbin/klipsfs" --version
    same "installed klipsfs --version" "$work/klipsfs-version.out" "klipsfs $version"

    # spigrp and the dispatcher: tools/install-spigrp.cmake.in, with no
    # `ipsec` of the system's in play (see the callers).
    if [[ $execdir_setting == AUTO ]]; then
        execdir=$(under "$prefix" "$libexecdir")/ipsec
    else
        execdir=$execdir_setting
    fi
    [[ -f $root$execdir/spigrp && -x $root$execdir/spigrp ]] ||
        fail "no executable spigrp at $root$execdir/spigrp"
    dispatcher=$root$sbin/ipsec
    if [[ $dispatcher_setting == OFF ]]; then
        [[ ! -e $dispatcher ]] || fail "KLIPSFS_IPSEC_DISPATCHER=OFF, but $dispatcher exists"
        note "KLIPSFS_IPSEC_DISPATCHER=OFF: no dispatcher to run"
    else
        [[ -f $dispatcher && -x $dispatcher ]] || fail "no executable dispatcher at $dispatcher"
        check_dispatcher "$dispatcher" "$root" "$execdir"
    fi

    # The unit (fs/CMakeLists.txt): systemd's own directory for the prefix
    # /usr, else prefix/libdir/systemd/system; ExecStart is the installed daemon.
    unitdir=$(pkg-config --variable=systemdsystemunitdir systemd 2>/dev/null || true)
    if [[ $prefix != /usr || -z $unitdir ]]; then
        unitdir=$(under "$prefix" "$libdir")/systemd/system
    fi
    unit=$root$unitdir/klipsfs.service
    [[ -f $unit ]] || fail "no systemd unit at $unit"
    exec=$(sed -n 's/^ExecStart=//p' "$unit")
    [[ $exec == "$sbin/klipsfs -f /run/klipsfs" ]] ||
        fail "$unit: ExecStart=$exec, expected ExecStart=$sbin/klipsfs -f /run/klipsfs"
    [[ -x $root${exec%% *} ]] || fail "$unit: ExecStart's ${exec%% *} is not installed"
    grep -q @ "$unit" && fail "$unit: an unsubstituted @VARIABLE@: $(grep @ "$unit")"

    # The man pages: where man/*.cmake puts them, the same as the sources,
    # and man(1) renders them.
    for page in "${pages[@]}"; do
        local installed
        installed=$root$(under "$prefix" "$mandir")/$page
        [[ -f $installed ]] || fail "no man page at $installed"
        cmp -s "$installed" "$man_source/${page#*/}" ||
            fail "$installed differs from $man_source/${page#*/}"
        run man-l 0 env LC_ALL=C MANWIDTH=80 man -l "$installed"
        [[ -s $work/man-l.out ]] || fail "man -l $installed rendered nothing"
        [[ ! -s $work/man-l.err ]] || fail "man -l $installed: $(cat "$work/man-l.err")"
    done
    note "installed tree under $root$prefix is complete"
}

# check_dispatcher IPSEC ROOT EXECDIR: the installed `ipsec` (tools/ipsec.in)
# runs EXECDIR's commands; under a DESTDIR (ROOT) EXECDIR is the target's
# path, so IPSEC_EXECDIR points it at the staged tree.
check_dispatcher() {
    local ipsec=$1 root=$2 execdir=$3 spigrp
    spigrp=$root$execdir/spigrp
    run directory 0 env -u IPSEC_EXECDIR "$ipsec" --directory
    same "ipsec --directory (the execdir it was installed for)" "$work/directory.out" "$execdir"
    export IPSEC_EXECDIR=$root$execdir

    # ipsec spigrp --help: KLIPS's usage, argv[0] the full path, exit 1.
    run help 1 "$ipsec" spigrp --help
    [[ $(head -n1 "$work/help.out") == \
        'usage: Note: position of options and arguments is important!' ]] ||
        fail "ipsec spigrp --help: first line is not KLIPS's:$nl$(cat "$work/help.out")"
    same "ipsec spigrp --help" "$work/help.out" "$(usage "$spigrp")"
    [[ ! -s $work/help.err ]] || fail "ipsec spigrp --help wrote to stderr: $(cat "$work/help.err")"

    run version 1 "$ipsec" spigrp --version
    [[ ! -s $work/version.out ]] || fail "ipsec spigrp --version wrote to stdout"
    same "ipsec spigrp --version (stderr)" "$work/version.err" "$spigrp, klipsfs $version"

    run unknown nonzero "$ipsec" no-such-command
    same "ipsec no-such-command (stderr)" "$work/unknown.err" \
        "ipsec: unknown IPsec command \`no-such-command' (\`ipsec --help' for list)"
    run option nonzero "$ipsec" --no-such-option
    same "ipsec --no-such-option (stderr)" "$work/option.err" \
        "ipsec: unknown option \`--no-such-option' (\`ipsec --help' for list)"
    run badname nonzero "$ipsec" ../spigrp
    grep -q "bad command name" "$work/badname.err" ||
        fail "ipsec ../spigrp: no \"bad command name\": $(cat "$work/badname.err")"

    local args
    for args in --help ""; do
        run usage 0 "$ipsec" ${args:+"$args"}
        grep -qx 'Usage: ipsec command \[argument \.\.\.\]' "$work/usage.out" ||
            fail "\`ipsec $args' does not say how to use it: $(cat "$work/usage.out")"
        grep -qx 'Commands: .*\<spigrp\> .*' "$work/usage.out" ||
            fail "\`ipsec $args' does not offer spigrp: $(cat "$work/usage.out")"
    done
    run dversion 0 "$ipsec" --version
    same "ipsec --version" "$work/dversion.out" "klipsfs $version (ipsec dispatcher)"
    unset IPSEC_EXECDIR
    note "$ipsec runs $spigrp as \`ipsec spigrp'"
}

# install NAME DESTDIR PREFIX: one `cmake --install`, its log in $work/NAME.log.
install() {
    local name=$1 destdir=$2 prefix=$3 status=0
    if [[ -n $destdir ]]; then
        DESTDIR=$destdir "$cmake" --install "$build" --prefix "$prefix" \
            >"$work/$name.log" 2>&1 || status=$?
    else
        env -u DESTDIR "$cmake" --install "$build" --prefix "$prefix" \
            >"$work/$name.log" 2>&1 || status=$?
    fi
    ((status == 0)) || fail "cmake --install ($name) exited $status:$nl$(cat "$work/$name.log")"
    grep -qi 'warning' "$work/$name.log" &&
        fail "cmake --install ($name) warned:$nl$(cat "$work/$name.log")"
    return 0
}

for built in "$built_klipsfs" "$built_spigrp"; do
    [[ -x $built ]] || fail "$built is not built (build the tree before running this test)"
done

# The man page sources: groff finds nothing to warn about.
for page in "${pages[@]}"; do
    source=$man_source/${page#*/}
    [[ -f $source ]] || fail "no man page source $source"
    warnings=$(groff -man -ww -z "$source" 2>&1) || fail "groff failed on $source: $warnings"
    [[ -z $warnings ]] || fail "groff -man -ww warns on $source:$nl$warnings"
done
for source in "$man_source"/*.[1-9]; do
    [[ " ${pages[*]} " == *"/${source##*/} "* ]] ||
        fail "$source is not among the pages this test expects installed: add it here"
done
note "groff -man -ww: no warnings in ${pages[*]#*/}"

# 1. A temporary prefix, DESTDIR unset.  Skipped where it would install
#    outside that prefix: an `ipsec` of this machine's (spigrp would go into
#    its directory), or an explicit KLIPSFS_IPSEC_EXECDIR.
prefix=$work/prefix/usr/local
if [[ $execdir_setting != AUTO ]]; then
    note "SKIP the --prefix install: KLIPSFS_IPSEC_EXECDIR=$execdir_setting is outside it"
elif found=$(system_ipsec_dir); then
    note "SKIP the --prefix install: $found, where spigrp would go"
else
    install prefix "" "$prefix"
    check_install "" "$prefix"
    if command -v systemd-analyze >/dev/null; then
        # MANPATH: the unit's Documentation= man pages are the installed ones.
        unit=$(under "$prefix" "$libdir")/systemd/system/klipsfs.service
        status=0
        out=$(MANPATH=$(under "$prefix" "$mandir") systemd-analyze verify "$unit" 2>&1) ||
            status=$?
        [[ $status == 0 && -z $out ]] ||
            fail "systemd-analyze verify $unit (exit $status):$nl$out"
        note "systemd-analyze verify: $unit is clean"
    else
        note "SKIP systemd-analyze verify: no systemd-analyze on this machine"
    fi
fi

# 2. Packaging: DESTDIR with the prefix /usr.  The system's `ipsec` plays no part.
install destdir "$work/destdir" /usr
check_install "$work/destdir" /usr

echo "install_test: all passed"
