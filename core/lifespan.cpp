// The non-template parts of include/hatchet/lifespan.hpp.

#include "hatchet/lifespan.hpp"

#include <cstdlib>
#include <memory>

#include <cxxabi.h>

namespace hatchet::detail {

std::string demangle(const char* mangled) {
  int status = 0;
  std::unique_ptr<char, void (*)(void*)> out{
    abi::__cxa_demangle(mangled, nullptr, nullptr, &status), std::free};
  return status == 0 && out ? std::string{out.get()} : std::string{mangled};
}

} // namespace hatchet::detail
