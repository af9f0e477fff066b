#include "hatchet/hatchet.hpp"

namespace hatchet {

const char* version() noexcept {
  return HATCHET_CAF_VERSION;
}

} // namespace hatchet
