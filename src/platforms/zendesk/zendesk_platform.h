// The Zendesk platform as the registry lists it: id "zendesk", ZendeskSource, ZendeskSettings' section.
// Thread-safety and lifetime: a constant.
#pragma once

#include "platforms/platform.h"
#include "platforms/zendesk/zendesk_settings.h"
#include "platforms/zendesk/zendesk_source.h"

namespace deskpipe::zendesk {

inline constexpr PlatformDefinition kPlatform{"zendesk", &CreateSource, &SettingsSection};

}  // namespace deskpipe::zendesk
