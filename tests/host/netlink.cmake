# netlink/ against this host's kernel (root): policies in throwaway network
# namespaces, compared with what `ip xfrm` lists.
klipsfs_gtest(netlink_host host
    SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/netlink_test.cc
            ${CMAKE_SOURCE_DIR}/tests/netlink/ip_xfrm.cc
    LIBS klipsfs_netlink)
