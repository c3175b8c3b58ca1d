// The registry list of the test build deskpipe-with-fake: production's list (src/platforms/platform_list.cc)
// plus one line for the fake platform.
#include "fake/fake_platform.h"
#include "platforms/freshdesk/freshdesk_platform.h"
#include "platforms/registry.h"

namespace deskpipe {

std::span<const PlatformDefinition> PlatformList() {
  static constexpr PlatformDefinition kPlatforms[] = {
      freshdesk::kPlatform,
      fake::kPlatform,
  };
  return kPlatforms;
}

}  // namespace deskpipe
