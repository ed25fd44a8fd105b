# Lab tier smoke tests (label "lab"): they prove the lab is real, so that a
# failure in a component's lab test is about that component.  The lab boots
# and runs a command (lab_smoke_boot: `true`); it has ESP, AH and IPComp with
# the kernel's IP-in-IP state (smoke-xfrm.sh); network namespaces, veth and
# real ESP traffic (smoke-netns.sh); FUSE (smoke-fuse.sh, with the host
# tier's tiny file system).  lab_harness checks lab-run itself on the host.

klipsfs_lab_test(NAME lab_smoke_boot COMMAND true TIMEOUT 60)
klipsfs_lab_test(NAME lab_smoke_xfrm COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/smoke-xfrm.sh TIMEOUT 60)
klipsfs_lab_test(NAME lab_smoke_netns COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/smoke-netns.sh
                 TIMEOUT 60)
klipsfs_lab_test(NAME lab_smoke_fuse COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/smoke-fuse.sh
                 $<TARGET_FILE:klipsfs_smoke_fusefs> TIMEOUT 60)

add_test(NAME lab_harness COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/smoke-harness.sh
                                  ${KLIPSFS_LAB_RUN})
set_tests_properties(lab_harness PROPERTIES LABELS lab TIMEOUT 120)
