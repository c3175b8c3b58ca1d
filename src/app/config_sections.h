// The program's settings, assembled in one place: core's, then each component's section — the registered
// platforms' (platforms/registry.h), the embedders' (embed/embedder_factory.h) and the LLM summarizer's
// (pipeline/summarizer_settings.h). Front ends load their Config through here, and the CLI derives its flags and
// their help from ConfigFields().
// Thread-safety: stateless; safe from any thread. Lifetime: returned values are the caller's.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/status.h"

namespace deskpipe::app {

// Every component's section, in the order above.
std::vector<ConfigSection> ConfigSections();

// Core's settings and every section's, in order (for flags and help).
std::vector<ConfigField> ConfigFields();

// deskpipe::LoadConfig over every section.
Result<Config> LoadConfig(const ConfigSources& sources);

// The process's environment variables that some section or core declares.
std::map<std::string, std::string> ReadEnvironment();

}  // namespace deskpipe::app
