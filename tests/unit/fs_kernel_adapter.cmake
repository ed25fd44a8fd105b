# fs::to_kernel_sa / to_kernel_policy: netlink's XFRM values to compat's.
klipsfs_gtest(fs_kernel_adapter_test unit
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/fs_kernel_adapter_test.cc
    LIBS klipsfs_fs)
