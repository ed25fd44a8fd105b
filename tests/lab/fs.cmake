# The klipsfs file system in the lab (label "lab"), on a kernel with ESP, AH,
# IPComp and IP-in-IP:
#   lab_fs_rules   every rule of design.md "From XFRM to groups" end to end,
#                  with state made by `ip xfrm`, in both SAID forms
#   lab_fs_stress  32 readers during 10,000 kernel changes: every open, read
#                  in chunks of 1-4 KB, is one whole snapshot (a ~20 KB listing
#                  whose SPIs form one run); changes show at the next open
klipsfs_lab_test(NAME lab_fs_rules COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/fs-rules.sh
                 $<TARGET_FILE:klipsfs> TIMEOUT 180)

add_executable(klipsfs_lab_fs_stress ${CMAKE_CURRENT_SOURCE_DIR}/fs_stress.cc)
target_link_libraries(klipsfs_lab_fs_stress PRIVATE Threads::Threads)
klipsfs_lab_test(NAME lab_fs_stress COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/fs-stress.sh
                 $<TARGET_FILE:klipsfs> $<TARGET_FILE:klipsfs_lab_fs_stress> 32 10000
                 TIMEOUT 600 MEM 1G)
