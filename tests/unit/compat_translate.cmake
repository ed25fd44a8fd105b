# compat::groups_from: XFRM states and policies to ipsec_spigrp groups.
klipsfs_gtest(compat_translate_test unit
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/compat_translate_test.cc
    LIBS klipsfs_compat)
