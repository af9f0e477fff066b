# Defines caf::core for Debian's CAF 0.17, which ships neither a CMake config nor a pkg-config
# file. This is the one place that knows how CAF is laid out on disk: the build includes it
# (hatchet_deps.cmake), and so does the installed package (hatchet_cafConfig.cmake), so that a
# consumer gets the same target. Needs Threads::Threads. Leaves caf::core undefined when CAF is
# not found; the caller says so.
if(NOT TARGET caf::core)
  find_path(CAF_INCLUDE_DIR caf/all.hpp)
  find_library(CAF_CORE_LIB caf_core)
  if(CAF_INCLUDE_DIR AND CAF_CORE_LIB)
    add_library(caf::core UNKNOWN IMPORTED)
    set_target_properties(caf::core PROPERTIES
      IMPORTED_LOCATION "${CAF_CORE_LIB}"
      INTERFACE_INCLUDE_DIRECTORIES "${CAF_INCLUDE_DIR}"
      INTERFACE_LINK_LIBRARIES Threads::Threads)
  endif()
endif()
