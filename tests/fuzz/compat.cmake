# compat's libFuzzer target for SAID text.  Built only with -DKLIPSFS_FUZZ=ON
# and clang:
#   cmake -S . -B build-fuzz -DCMAKE_CXX_COMPILER=clang++ -DKLIPSFS_FUZZ=ON
#   cmake --build build-fuzz -j2 --target said_fuzz
#   (cd build-fuzz && ctest -L fuzz)
# CTest runs it for KLIPSFS_FUZZ_SECONDS, starting from the committed seeds
# in corpus/said; the inputs it finds go to the build tree, never into the
# source tree.
set(KLIPSFS_FUZZ_SECONDS 30 CACHE STRING "Seconds each fuzz target runs under CTest")

# The compat sources are compiled into the fuzzer itself, with its
# instrumentation, whatever KLIPSFS_SANITIZE says; the klipsfs_compat
# library of this build stays as the top level made it, for the programs
# that link it without the fuzzer's runtime.
set(said_fuzz_flags -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
                    -fno-omit-frame-pointer)
set(said_fuzz_sources number.cc address.cc said.cc spigrp.cc)
list(TRANSFORM said_fuzz_sources PREPEND ${CMAKE_SOURCE_DIR}/compat/)

add_executable(said_fuzz ${CMAKE_CURRENT_SOURCE_DIR}/said_fuzz.cc ${said_fuzz_sources})
target_include_directories(said_fuzz PRIVATE ${CMAKE_SOURCE_DIR})
target_compile_options(said_fuzz PRIVATE ${said_fuzz_flags})
target_link_options(said_fuzz PRIVATE ${said_fuzz_flags})

set(said_fuzz_corpus ${CMAKE_CURRENT_BINARY_DIR}/said_fuzz_corpus)
file(MAKE_DIRECTORY ${said_fuzz_corpus})
math(EXPR said_fuzz_timeout "${KLIPSFS_FUZZ_SECONDS} + 120")
add_test(NAME said_fuzz
         COMMAND said_fuzz -max_total_time=${KLIPSFS_FUZZ_SECONDS} -print_final_stats=1
                 -dict=${CMAKE_CURRENT_SOURCE_DIR}/said.dict
                 -artifact_prefix=${CMAKE_CURRENT_BINARY_DIR}/said_fuzz-
                 ${said_fuzz_corpus} ${CMAKE_CURRENT_SOURCE_DIR}/corpus/said)
set_tests_properties(said_fuzz PROPERTIES LABELS fuzz TIMEOUT ${said_fuzz_timeout})
