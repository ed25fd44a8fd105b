# Host tier smoke tests (label "host", root on this machine): they prove that
# what the host tier relies on works here, so that a failure in a component's
# host test is about that component.  FUSE mounts, serves and unmounts a tiny
# file system (also reused inside the lab by tests/lab/smoke.cmake); XFRM takes
# a policy in a network namespace of the test's own.

add_executable(klipsfs_smoke_fusefs ${CMAKE_CURRENT_SOURCE_DIR}/smoke-fusefs.cc)
target_link_libraries(klipsfs_smoke_fusefs PRIVATE PkgConfig::FUSE3)

add_test(NAME host_smoke_fuse
         COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/smoke-fuse.sh $<TARGET_FILE:klipsfs_smoke_fusefs>)
add_test(NAME host_smoke_xfrm_policy
         COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/smoke-xfrm-policy.sh)
set_tests_properties(host_smoke_fuse host_smoke_xfrm_policy PROPERTIES LABELS host TIMEOUT 60)
