// The Freshdesk platform as the registry lists it: id "freshdesk", FreshdeskSource, FreshdeskSettings' section.
// Thread-safety and lifetime: a constant.
#pragma once

#include "platforms/freshdesk/freshdesk_settings.h"
#include "platforms/freshdesk/freshdesk_source.h"
#include "platforms/platform.h"

namespace deskpipe::freshdesk {

inline constexpr PlatformDefinition kPlatform{"freshdesk", &CreateSource, &SettingsSection};

}  // namespace deskpipe::freshdesk
