# `cmake --install` puts the public headers (include/hatchet/*.hpp only), the worker's static
# libraries and a CMake package in the prefix. A consumer writes
#
#   find_package(hatchet_caf 0.1 REQUIRED)
#   target_link_libraries(app PRIVATE hatchet::hatchet)
#
# (tests/install/consumer does exactly that, as a ctest).
#
# Static libraries, not one shared library: the public API has no export annotations, and a shared
# library with hidden visibility (STYLE.md) would need them on every out-of-line function and
# exception type. The price is that a static library's private dependencies (gRPC, protobuf,
# cpp-httplib) are on the consumer's link line, so the package config finds them; the consumer's
# own CMakeLists.txt still names nothing but hatchet_caf.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(hatchet_cmake_dir ${CMAKE_INSTALL_LIBDIR}/cmake/hatchet_caf)

install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/hatchet
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
        FILES_MATCHING PATTERN "*.hpp")

# hatchet::hatchet is the one a consumer links; the others come with it (one archive per folder:
# hatchet::core, ::util, ::codec, ::messages, ::client, ::health, ::actors, and ::proto) because
# the archives need each other.
install(TARGETS hatchet hatchet_core hatchet_util hatchet_codec hatchet_messages hatchet_client
                hatchet_health hatchet_actors hatchet_proto
        EXPORT hatchet_caf_targets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(EXPORT hatchet_caf_targets
        NAMESPACE hatchet::
        FILE hatchet_cafTargets.cmake
        DESTINATION ${hatchet_cmake_dir})

configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/hatchet_cafConfig.cmake.in
  ${PROJECT_BINARY_DIR}/hatchet_cafConfig.cmake
  INSTALL_DESTINATION ${hatchet_cmake_dir})
# 0.x: a minor version may break the API, so only the same minor version is compatible.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/hatchet_cafConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/hatchet_cafConfig.cmake
              ${PROJECT_BINARY_DIR}/hatchet_cafConfigVersion.cmake
              ${PROJECT_SOURCE_DIR}/cmake/hatchet_find_caf.cmake
        DESTINATION ${hatchet_cmake_dir})
