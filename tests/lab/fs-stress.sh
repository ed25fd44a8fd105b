#!/usr/bin/env bash
# fs-stress.sh (inside the lab): mounts klipsfs and runs the concurrent
# readers of fs_stress.cc against it, then checks the daemon still unmounts
# cleanly on SIGTERM and leaves nothing behind.
#
#   fs-stress.sh PATH-TO-klipsfs PATH-TO-klipsfs_lab_fs_stress [READERS [CHANGES]]
set -euo pipefail

prog=fs-stress
klipsfs=${1:?usage: fs-stress.sh KLIPSFS STRESS [READERS [CHANGES]]}
stress=${2:?usage: fs-stress.sh KLIPSFS STRESS [READERS [CHANGES]]}
shift 2
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=fs-lib.sh
source "$here/fs-lib.sh"

mnt=$work/mnt
start_klipsfs "$mnt"
"$stress" "$mnt" "$@" || fail "the readers saw something wrong"
stop_all
echo "$prog: PASS"
