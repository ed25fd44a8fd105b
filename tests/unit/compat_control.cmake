# The control node's language, group model, eroute compiler and state file.
klipsfs_gtest(compat_control_test unit
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/compat_control_test.cc
            ${CMAKE_CURRENT_LIST_DIR}/compat_control_model_test.cc
    LIBS klipsfs_compat)
