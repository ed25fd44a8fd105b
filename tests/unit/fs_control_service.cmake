# fs/control_service: the eroute policy klipsfs sends to the kernel, and the
# state file's atomic replacement.
klipsfs_gtest(fs_control_service_test unit
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/fs_control_service_test.cc
    LIBS klipsfs_fs)
