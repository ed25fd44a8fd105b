# control_bench: groups made and bound per second through ipsec/control, in
# the lab (see control_bench.cc).  The small run (200 groups) is a lab test
# with the labels "lab" and "bench"; the full size is run by hand:
#   tests/lab/lab-run --timeout 1200 --mem 1G -- build/tests/bench/klipsfs_control_bench \
#       build/fs/klipsfs 2000
add_executable(klipsfs_control_bench ${CMAKE_CURRENT_LIST_DIR}/control_bench.cc)
target_link_libraries(klipsfs_control_bench PRIVATE klipsfs_netlink)
klipsfs_lab_test(NAME bench_control_small COMMAND klipsfs_control_bench $<TARGET_FILE:klipsfs> 200
                 TIMEOUT 300)
set_property(TEST bench_control_small APPEND PROPERTY LABELS bench)
