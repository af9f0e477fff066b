# Project-wide compiler settings: warnings for our code, optional sanitizers.
add_library(hatchet_warnings INTERFACE)
target_compile_options(hatchet_warnings INTERFACE -Wall -Wextra -Wpedantic -Wno-unused-parameter)

if(HATCHET_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
endif()
