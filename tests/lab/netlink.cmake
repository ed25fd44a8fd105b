# netlink/ on a real IPsec kernel (the lab): the mirror follows ESP, AH and
# IPComp states (with the kernel's IPIP state), flushes, hard expiry, a
# burst that loses events, and equals what `ip xfrm` lists after each step.
add_executable(netlink_lab_test ${CMAKE_CURRENT_SOURCE_DIR}/netlink_test.cc
                                ${CMAKE_SOURCE_DIR}/tests/netlink/ip_xfrm.cc)
target_link_libraries(netlink_lab_test PRIVATE klipsfs_netlink GTest::gtest GTest::gtest_main)
target_include_directories(netlink_lab_test PRIVATE ${CMAKE_SOURCE_DIR})
klipsfs_lab_test(NAME netlink_lab COMMAND netlink_lab_test TIMEOUT 600 MEM 1G)

# Records kernel messages as hex (how tests/unit/netlink_captured.inc was made).
add_executable(netlink_capture ${CMAKE_SOURCE_DIR}/tests/netlink/capture.cc)
target_link_libraries(netlink_capture PRIVATE klipsfs_netlink)
target_include_directories(netlink_capture PRIVATE ${CMAKE_SOURCE_DIR})
