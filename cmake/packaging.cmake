# The Debian package (issue #20): nod-server, its config file and a
# hardened systemd unit. `scripts/package.sh` builds it; tests/packaging
# checks it. Files: packaging/ (the unit, the maintainer scripts, conffiles).

set(NOD_PACKAGING_DIR "${PROJECT_SOURCE_DIR}/packaging")

# The packaged /etc/nod/nod-server.conf is the commented example config,
# with a header for its place and the data directory the unit gives, so the
# two never drift apart. Regenerated when the example changes.
set(_example "${PROJECT_SOURCE_DIR}/config/nod-server.conf")
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS "${_example}")
file(READ "${_example}" _conf)
set(_old_head "# Example nod-server configuration file.
#
# Use it with `nod-server --config FILE` or `NOD_CONFIG=FILE nod-server`.
")
set(_new_head "# /etc/nod/nod-server.conf: settings of the nod-server service.
#
# After a change: `systemctl restart nod-server`; `systemctl reload
# nod-server` (SIGHUP) applies only what `nod-server --help` says SIGHUP
# reloads, such as the TLS certificate. Upgrades keep your edits. The file
# is 0640 root:nod: secrets (smtp-password, metrics-token) may go here.
# docs/operations.md in the source describes the service.
")
set(_old_data "# data-dir = \"./data\"\n")
set(_new_data "# The service passes --data-dir /var/lib/nod (its StateDirectory, the
# one place it may write), which beats this file: move it with a drop-in
# (`systemctl edit nod-server`), not here.
# data-dir = /var/lib/nod
")
foreach(_pair "_old_head;_new_head" "_old_data;_new_data")
  list(GET _pair 0 _old)
  list(GET _pair 1 _new)
  string(FIND "${_conf}" "${${_old}}" _at)
  if(_at EQUAL -1)
    message(FATAL_ERROR "packaging: ${_example} no longer contains\n"
            "${${_old}}\nupdate cmake/packaging.cmake")
  endif()
  string(REPLACE "${${_old}}" "${${_new}}" _conf "${_conf}")
endforeach()
set(NOD_PACKAGED_CONF "${PROJECT_BINARY_DIR}/packaging/nod-server.conf")
file(WRITE "${NOD_PACKAGED_CONF}.new" "${_conf}")
file(COPY_FILE "${NOD_PACKAGED_CONF}.new" "${NOD_PACKAGED_CONF}" ONLY_IF_DIFFERENT)

# Absolute destinations land at /etc and /lib in the package, not under
# the /usr prefix. Bookworm's systemd still reads units from /lib.
install(FILES "${NOD_PACKAGED_CONF}" DESTINATION /etc/nod
        PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ)
install(FILES "${NOD_PACKAGING_DIR}/nod-server.service"
        DESTINATION /lib/systemd/system)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME nod-server)
set(CPACK_PACKAGE_VERSION "${PROJECT_VERSION}")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "hub between AI agents and the people who answer them")
# Lines as they appear in `apt show` (CPack indents them; an empty line
# separates paragraphs).
set(CPACK_PACKAGE_DESCRIPTION "\
Agents (Claude Code, CrewAI, LangChain, n8n, scripts) send messages and
decisions; Nod stores each one durably and pushes it to the person's app,
a PWA served by the server. The answer goes back to the agent over its
WebSocket, its signed webhook, or a poll.

One binary with an embedded store, run by systemd as the user nod; data
in /var/lib/nod, settings in /etc/nod/nod-server.conf.")
set(CPACK_STRIP_FILES ON)
set(NOD_PACKAGE_MAINTAINER "Nod server maintainers <dev@nod.local>"
    CACHE STRING "Maintainer field of the Debian package")
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${NOD_PACKAGE_MAINTAINER}")
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# nod-server_<version>_amd64.deb
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
# The shared libraries' packages from dpkg-shlibdeps, plus what postinst
# runs; ca-certificates for webhooks, push and SMTP over TLS.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS adduser)
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS ca-certificates)
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    "${NOD_PACKAGING_DIR}/conffiles" "${NOD_PACKAGING_DIR}/postinst"
    "${NOD_PACKAGING_DIR}/prerm" "${NOD_PACKAGING_DIR}/postrm")
# 0755 for the maintainer scripts, 0644 for conffiles, whatever the checkout.
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
