# fs_bench: klipsfs against `ip xfrm` in the lab (see fs_bench.cc).  The
# small run (200 groups) is a lab test with the "bench" label; the full size
# is run by hand:
#   tests/lab/lab-run --timeout 1200 --mem 2G -- build/release/tests/bench/klipsfs_fs_bench \
#       build/release/fs/klipsfs 10000 20
add_executable(klipsfs_fs_bench ${CMAKE_CURRENT_LIST_DIR}/fs_bench.cc)
add_test(NAME bench_fs_small
         COMMAND ${KLIPSFS_LAB_RUN} --timeout 300 --mem 1G
                 -- $<TARGET_FILE:klipsfs_fs_bench> $<TARGET_FILE:klipsfs> 200 10)
set_tests_properties(bench_fs_small PROPERTIES LABELS bench TIMEOUT 360)
