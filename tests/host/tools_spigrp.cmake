# The real `spigrp` binary and `ipsec spigrp` (label "host"; needs no daemon
# and no privileges: the control node and listing are faked by a directory
# that KLIPSFS_MOUNT names).
set(KLIPSFS_VERSION ${PROJECT_VERSION})
configure_file(${CMAKE_CURRENT_LIST_DIR}/tools_spigrp_test.sh
               ${CMAKE_CURRENT_BINARY_DIR}/tools_spigrp_test.sh @ONLY)
add_test(NAME tools_spigrp_host
         COMMAND sh ${CMAKE_CURRENT_BINARY_DIR}/tools_spigrp_test.sh $<TARGET_FILE:spigrp>
                 ${CMAKE_BINARY_DIR}/tools/ipsec)
set_tests_properties(tools_spigrp_host PROPERTIES LABELS host TIMEOUT 60)

# The same binary on a real FUSE mount of klipsfs's FUSE layer (root).
add_test(NAME tools_spigrp_fuse
         COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/tools_spigrp_fuse_test.sh $<TARGET_FILE:spigrp>
                 $<TARGET_FILE:klipsfs_fake_fs>)
set_tests_properties(tools_spigrp_fuse PROPERTIES LABELS host TIMEOUT 60)
