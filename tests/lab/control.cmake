# The control node on a real IPsec kernel (label "lab"):
#   lab_control_groups  ipsec spigrp + bind through ipsec/control between two
#                       network namespaces: traffic through tun comp esp ah,
#                       restart after SIGKILL, errors, unbind, a deleted member
klipsfs_lab_test(NAME lab_control_groups COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/control-groups.sh
                 $<TARGET_FILE:klipsfs> $<TARGET_FILE:spigrp> TIMEOUT 180)
