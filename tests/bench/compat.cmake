# compat_bench: SAIDs parsed and formatted per second, and the time to
# render 100,000 groups of four.  Figures come from a Release build:
#   cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release
#   cmake --build build-release --target compat_bench && build-release/tests/bench/compat_bench
# CTest's "bench" label runs a small pass that only prints figures.
add_executable(compat_bench ${CMAKE_CURRENT_SOURCE_DIR}/compat_bench.cc)
target_link_libraries(compat_bench PRIVATE klipsfs_compat)
add_test(NAME compat_bench COMMAND compat_bench --quick)
set_tests_properties(compat_bench PROPERTIES LABELS bench TIMEOUT 120)

# model_bench: compat's control model and translation alone, on this CPU
# (see model_bench.cc): the daemon's own share of the control node's and the
# listing's time.  CTest runs --quick.
add_executable(model_bench ${CMAKE_CURRENT_SOURCE_DIR}/model_bench.cc)
target_link_libraries(model_bench PRIVATE klipsfs_compat)
add_test(NAME model_bench COMMAND model_bench --quick)
set_tests_properties(model_bench PROPERTIES LABELS bench TIMEOUT 120)
