# Finds every third-party dependency and gives each one a target.
# All of them come from Debian bookworm packages (scripts/setup.sh installs them).

find_program(CCACHE_PROGRAM ccache)
if(CCACHE_PROGRAM)
  set(CMAKE_CXX_COMPILER_LAUNCHER ${CCACHE_PROGRAM})
endif()

find_package(Threads REQUIRED)
find_package(Protobuf REQUIRED)
find_package(gRPC CONFIG REQUIRED)
find_package(spdlog CONFIG REQUIRED)
find_package(nlohmann_json 3 CONFIG REQUIRED)
find_package(PkgConfig REQUIRED)
pkg_check_modules(PQXX REQUIRED IMPORTED_TARGET libpqxx)
# cpp-httplib (Debian ships it compiled, with OpenSSL): the worker's REST calls (pausing the worker
# on the engine) and the dev engine's REST API. Included by one .cpp on each side only.
pkg_check_modules(HTTPLIB REQUIRED IMPORTED_TARGET cpp-httplib)
find_package(prometheus-cpp CONFIG REQUIRED COMPONENTS core)
# libuuid (uuid-dev): only the id benchmark links it (bench/uuid_bench.cpp).
pkg_check_modules(UUID REQUIRED IMPORTED_TARGET uuid)
find_package(OpenSSL REQUIRED)
if(HATCHET_BUILD_TESTS)
  find_package(Boost 1.74 REQUIRED COMPONENTS unit_test_framework)
endif()

# CAF 0.17 (libcaf-dev): no CMake config in Debian, so the target is built by hand.
include(hatchet_find_caf)
if(NOT TARGET caf::core)
  message(FATAL_ERROR "CAF 0.17 not found (caf/all.hpp and libcaf_core): install libcaf-dev")
endif()
