#include "platforms/registry.h"

namespace deskpipe {

Result<std::unique_ptr<Source>> CreateSource(const Config& config, net::HttpClient& http) {
  for (const PlatformDefinition& platform : PlatformList()) {
    if (config.platform == platform.id) return platform.create(config, http);
  }
  std::string known;
  for (const auto& name : RegisteredPlatforms()) known += (known.empty() ? "" : ", ") + name;
  return Error(InvalidArgument("unknown platform '" + config.platform +
                               "' (DESKPIPE_PLATFORM / --platform); "
                               "registered platforms: " +
                               known));
}

std::vector<std::string> RegisteredPlatforms() {
  std::vector<std::string> names;
  for (const PlatformDefinition& platform : PlatformList()) names.emplace_back(platform.id);
  return names;
}

std::vector<ConfigSection> PlatformConfigSections() {
  std::vector<ConfigSection> sections;
  for (const PlatformDefinition& platform : PlatformList()) sections.push_back(platform.settings());
  return sections;
}

}  // namespace deskpipe
