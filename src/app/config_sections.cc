#include "app/config_sections.h"

#include "embed/embedder_factory.h"
#include "pipeline/summarizer_settings.h"
#include "platforms/registry.h"

namespace deskpipe::app {

std::vector<ConfigSection> ConfigSections() {
  std::vector<ConfigSection> sections = PlatformConfigSections();
  for (ConfigSection& section : EmbedderConfigSections()) sections.push_back(std::move(section));
  sections.push_back(SummarizerSettingsSection());
  return sections;
}

std::vector<ConfigField> ConfigFields() { return deskpipe::ConfigFields(ConfigSections()); }

Result<Config> LoadConfig(const ConfigSources& sources) { return deskpipe::LoadConfig(sources, ConfigSections()); }

std::map<std::string, std::string> ReadEnvironment() { return deskpipe::ReadEnvironment(ConfigSections()); }

}  // namespace deskpipe::app
