# `cmake --install` of this build tree (label "host"): into a temporary prefix
# and with DESTDIR and --prefix /usr, every piece where it belongs (daemon,
# spigrp and the ipsec dispatcher, systemd unit, man pages), the installed
# dispatcher run, the man pages linted and the unit verified
# (tests/host/install_test.sh).  It installs what is built when it runs; the
# targets it names are only checked to exist.
add_test(NAME host_install
         COMMAND ${CMAKE_CURRENT_LIST_DIR}/install_test.sh
                 "${CMAKE_COMMAND}" "${CMAKE_BINARY_DIR}" "${CMAKE_SOURCE_DIR}/man"
                 "${PROJECT_VERSION}" "$<TARGET_FILE:klipsfs>" "$<TARGET_FILE:spigrp>"
                 "${CMAKE_INSTALL_SBINDIR}" "${CMAKE_INSTALL_LIBEXECDIR}"
                 "${CMAKE_INSTALL_LIBDIR}" "${CMAKE_INSTALL_MANDIR}"
                 "${KLIPSFS_IPSEC_EXECDIR}" "${KLIPSFS_IPSEC_DISPATCHER}")
set_tests_properties(host_install PROPERTIES LABELS host TIMEOUT 120)
