// The registry list of the deskpipe program: one line per platform. A test build links another list
// (tests/platforms/fake/platform_list_with_fake.cc) in place of this file.
#include "platforms/freshdesk/freshdesk_platform.h"
#include "platforms/registry.h"
#include "platforms/zendesk/zendesk_platform.h"

namespace deskpipe {

std::span<const PlatformDefinition> PlatformList() {
  static constexpr PlatformDefinition kPlatforms[] = {
      freshdesk::kPlatform,
      zendesk::kPlatform,
  };
  return kPlatforms;
}

}  // namespace deskpipe
