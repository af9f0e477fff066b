// run_options (include/hatchet/run_options.hpp): checked before any call.

#include "hatchet/run_options.hpp"

#include "hatchet/errors.hpp"

namespace hatchet {

caf::error run_options::validate() const {
  if (!additional_metadata.is_object())
    return make_error(errc::invalid_config,
                      "run_options::additional_metadata must be a JSON object, not "
                        + std::string{additional_metadata.type_name()});
  if (priority < 0 || priority > 3)
    return make_error(errc::invalid_config, "run_options::priority must be 1, 2 or 3 (0: none), not "
                                              + std::to_string(priority));
  if (timeout.count() <= 0)
    return make_error(errc::invalid_config, "run_options::timeout must be positive");
  return caf::none;
}

} // namespace hatchet
