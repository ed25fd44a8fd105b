# netlink/ without privileges: codecs on message bytes real kernels sent
# (netlink_captured.inc), extended ACKs, the copy-on-write table.
klipsfs_gtest(netlink_unit unit
    SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/netlink_codec_test.cc
            ${CMAKE_CURRENT_SOURCE_DIR}/netlink_table_test.cc
    LIBS klipsfs_netlink)
