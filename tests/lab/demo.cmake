# The README's first command, tools/demo, plays its scenes in the lab; this
# plays them on the build under test, so that the demo cannot rot: it fails
# when a listing is not what ipsec_spigrp(5) shows.
klipsfs_lab_test(NAME lab_demo COMMAND ${CMAKE_SOURCE_DIR}/tools/demo --in-lab ${CMAKE_BINARY_DIR}
                 TIMEOUT 180)
