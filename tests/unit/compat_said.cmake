# compat: SAIDs, addresses and the ipsec_spigrp line (spec/klips-text.md §2, §3).
klipsfs_gtest(compat_said_test unit
    SOURCES ${CMAKE_SOURCE_DIR}/tests/unit/compat_said_test.cc
            ${CMAKE_SOURCE_DIR}/tests/unit/compat_address_test.cc
            ${CMAKE_SOURCE_DIR}/tests/unit/compat_spigrp_test.cc
    LIBS klipsfs_compat)
