# The mirror's benchmark (runs in the lab): initial sync time against
# `ip -o xfrm state list`, memory per state, changes followed per CPU second.
# The full run is by hand:
#   tests/lab/lab-run --timeout 1800 --mem 3G -- build/tests/bench/netlink_bench
# CTest runs a small one (label bench, also lab).
add_executable(netlink_bench ${CMAKE_CURRENT_SOURCE_DIR}/netlink_bench.cc)
target_link_libraries(netlink_bench PRIVATE klipsfs_netlink)
target_include_directories(netlink_bench PRIVATE ${CMAKE_SOURCE_DIR})

klipsfs_lab_test(NAME netlink_bench_small
                 COMMAND netlink_bench --states 2000 --policies 200 --changes 2000
                 TIMEOUT 300 MEM 1G)
set_tests_properties(netlink_bench_small PROPERTIES LABELS "lab;bench")
