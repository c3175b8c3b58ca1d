// The platform registry: the platforms a program knows, from one explicit list (no static self-registration
// the linker could drop). The list is platforms/platform_list.cc, one line per platform; it is its own
// translation unit, linked into each program (CMake object library deskpipe_platform_list), so a test build can
// link a list that adds a fake platform while production code and its list stay untouched.
// Thread-safe (read-only tables).
#pragma once

#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/status.h"
#include "net/http_client.h"
#include "platforms/platform.h"

namespace deskpipe {

// The registry list, in registration order. Defined by the list translation unit the program links.
std::span<const PlatformDefinition> PlatformList();

// The Source for config.platform, reading through `http` (which must outlive it). InvalidArgument listing the
// registered platforms when config.platform is unknown; the platform's own config errors otherwise.
Result<std::unique_ptr<Source>> CreateSource(const Config& config, net::HttpClient& http);

// The platform ids CreateSource knows, in registration order.
std::vector<std::string> RegisteredPlatforms();

// The settings every registered platform declares, in registration order, for the config loader.
std::vector<ConfigSection> PlatformConfigSections();

}  // namespace deskpipe
