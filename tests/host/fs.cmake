# klipsfs's file system on real FUSE mounts (label "host", root, /dev/fuse).
#   host_fs_fuse    the FUSE layer with fakes behind it (klipsfs_fake_fs):
#                   layout, /proc-like reads, the control node's contract
#   host_fs_daemon  the klipsfs daemon itself on this host's XFRM: start-up,
#                   options, signals, crash and restart
add_executable(klipsfs_fake_fs ${CMAKE_CURRENT_LIST_DIR}/fs_fake_daemon.cc)
target_link_libraries(klipsfs_fake_fs PRIVATE klipsfs_fs)

klipsfs_gtest(host_fs_fuse host SOURCES ${CMAKE_CURRENT_LIST_DIR}/fs_fuse_test.cc TIMEOUT 120)
target_compile_definitions(host_fs_fuse PRIVATE
                           KLIPSFS_FAKE_FS="$<TARGET_FILE:klipsfs_fake_fs>")
add_dependencies(host_fs_fuse klipsfs_fake_fs)

klipsfs_gtest(host_fs_daemon host SOURCES ${CMAKE_CURRENT_LIST_DIR}/fs_daemon_test.cc TIMEOUT 180)
target_compile_definitions(host_fs_daemon PRIVATE KLIPSFS_BINARY="$<TARGET_FILE:klipsfs>")
add_dependencies(host_fs_daemon klipsfs)
