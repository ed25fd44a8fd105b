#!/usr/bin/env bash
# smoke-fuse.sh (inside the lab): proves FUSE works in the lab: /dev/fuse is
# there after the lab loaded the fuse module, and the host tier's FUSE smoke
# test (tests/host/smoke-fuse.sh) passes in here too.
#
#   smoke-fuse.sh PATH-TO-klipsfs_smoke_fusefs
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
[[ -c /dev/fuse ]] || { echo "smoke-fuse: FAIL: no /dev/fuse in the lab" >&2; exit 1; }
exec "$here/../host/smoke-fuse.sh" "$@"
