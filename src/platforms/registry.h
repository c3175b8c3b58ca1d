// The platform registry: one explicit line per platform (no static self-registration the linker could drop).
// Thread-safe (read-only tables).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/status.h"
#include "net/http_client.h"
#include "platforms/platform.h"

namespace deskpipe {

// The Source for config.platform, reading through `http` (which must outlive it). InvalidArgument listing the
// registered platforms when config.platform is unknown; the platform's own config errors otherwise.
Result<std::unique_ptr<Source>> CreateSource(const Config& config, net::HttpClient& http);

// The platform ids CreateSource knows, in registration order.
std::vector<std::string> RegisteredPlatforms();

}  // namespace deskpipe
