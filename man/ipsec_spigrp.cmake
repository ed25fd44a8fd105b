# ipsec_spigrp(8): the `ipsec spigrp` command.
install(FILES ${CMAKE_CURRENT_LIST_DIR}/ipsec_spigrp.8
        DESTINATION ${CMAKE_INSTALL_MANDIR}/man8)
