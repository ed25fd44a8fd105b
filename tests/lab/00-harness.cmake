# The lab tier's CMake function: tests that run inside the lab kernel (User-Mode
# Linux with ESP, AH, IPComp and IP-in-IP), through tests/lab/lab-run.
#
#   klipsfs_lab_test(NAME name COMMAND cmd [args...] [TIMEOUT seconds] [MEM size])
#
# adds the CTest test NAME, labelled "lab", that boots a fresh lab, runs
# `cmd args...` in it as root (working directory: this directory of the build
# tree; the host's file system is shared, so build and source paths work as
# they are) and passes when cmd exits 0.  cmd may be a script or a program;
# a name of a CMake executable target is replaced by $<TARGET_FILE:target>,
# and arguments may use generator expressions ($<TARGET_FILE:x>).
# TIMEOUT (default 120 s) bounds the whole lab, boot included (about 3 s);
# lab-run kills the lab and fails with status 124 when it runs out.  MEM is
# the lab's memory (default 512M).  A lab that cannot run fails the test
# (status 125, with the reason); it is never skipped.
#
# Example:
#   klipsfs_lab_test(NAME lab_mirror COMMAND klipsfs_lab_mirror_test --gtest_brief=1
#                    TIMEOUT 60)
#   klipsfs_lab_test(NAME lab_groups COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/groups.sh
#                    $<TARGET_FILE:klipsfs>)

set(KLIPSFS_LAB_RUN ${CMAKE_SOURCE_DIR}/tests/lab/lab-run CACHE INTERNAL "The lab harness")

function(klipsfs_lab_test)
    cmake_parse_arguments(PARSE_ARGV 0 ARG "" "NAME;TIMEOUT;MEM" "COMMAND")
    if(NOT ARG_NAME OR NOT ARG_COMMAND)
        message(FATAL_ERROR "klipsfs_lab_test: NAME and COMMAND are required")
    endif()
    if(ARG_UNPARSED_ARGUMENTS)
        message(FATAL_ERROR "klipsfs_lab_test(${ARG_NAME}): unexpected ${ARG_UNPARSED_ARGUMENTS}")
    endif()
    if(NOT ARG_TIMEOUT)
        set(ARG_TIMEOUT 120)
    endif()
    if(NOT ARG_MEM)
        set(ARG_MEM 512M)
    endif()

    list(POP_FRONT ARG_COMMAND program)
    if(TARGET ${program})
        set(program $<TARGET_FILE:${program}>)
    endif()

    add_test(NAME ${ARG_NAME}
             COMMAND ${KLIPSFS_LAB_RUN} --timeout ${ARG_TIMEOUT} --mem ${ARG_MEM}
                     -- ${program} ${ARG_COMMAND}
             WORKING_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR})
    # CTest's own limit is a backstop only: lab-run stops first, and says so.
    math(EXPR ctest_timeout "${ARG_TIMEOUT} + 60")
    set_tests_properties(${ARG_NAME} PROPERTIES LABELS lab TIMEOUT ${ctest_timeout})
endfunction()
