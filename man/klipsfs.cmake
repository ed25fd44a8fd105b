# klipsfs(8) and ipsec_spigrp(5): the daemon and the file it serves.
install(FILES ${CMAKE_CURRENT_LIST_DIR}/klipsfs.8 DESTINATION ${CMAKE_INSTALL_MANDIR}/man8)
install(FILES ${CMAKE_CURRENT_LIST_DIR}/ipsec_spigrp.5 DESTINATION ${CMAKE_INSTALL_MANDIR}/man5)
