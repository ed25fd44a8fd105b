# fs::ControlStream: the control node's line rules, without FUSE.
klipsfs_gtest(fs_control_stream_test unit
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/fs_control_stream_test.cc
    LIBS klipsfs_fs)
