#include "platforms/registry.h"

#include "platforms/freshdesk/freshdesk_source.h"

namespace deskpipe {
namespace {

using SourceFactory = Result<std::unique_ptr<Source>> (*)(const Config&, net::HttpClient&);

struct PlatformEntry {
  const char* platform;
  SourceFactory create;
};

// One line per platform.
constexpr PlatformEntry kPlatforms[] = {
    {"freshdesk", &freshdesk::CreateSource},
};

}  // namespace

Result<std::unique_ptr<Source>> CreateSource(const Config& config, net::HttpClient& http) {
  for (const auto& entry : kPlatforms) {
    if (config.platform == entry.platform) return entry.create(config, http);
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
  for (const auto& entry : kPlatforms) names.emplace_back(entry.platform);
  return names;
}

}  // namespace deskpipe
