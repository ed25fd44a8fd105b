# The control node of the real daemon on this host's kernel (label "host",
# root): EPERM, EINVAL, ENOENT, EBUSY with nothing changed, and a group of
# user-space tun SAs kept across SIGKILL (tests/host/control_node_test.sh).
add_test(NAME host_control_node
         COMMAND ${CMAKE_CURRENT_LIST_DIR}/control_node_test.sh $<TARGET_FILE:klipsfs>)
set_tests_properties(host_control_node PROPERTIES LABELS host TIMEOUT 120)
