# ipsec spigrp's argument processing and messages (tools/spigrp_args.h).
klipsfs_gtest(tools_spigrp_test unit
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/tools_spigrp_test.cc
    LIBS klipsfs_spigrp_args)
