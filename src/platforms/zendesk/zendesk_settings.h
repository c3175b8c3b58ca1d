// The Zendesk platform's settings: what it declares to the config loader (key, environment variable, flag,
// type, default, doc, secret) and the typed struct it reads them back as. Keys start with "zendesk_" so a
// tenant's settings in the service (`PUT /api/tenants/{id}`) route to this platform by prefix.
// Thread-safety: plain values and read-only declarations. Lifetime: the section's declarations live for the
// process.
#pragma once

#include <string>

#include "core/config.h"

namespace deskpipe::zendesk {

struct ZendeskSettings {
  std::string subdomain;  // zendesk_subdomain: "acme" or "acme.zendesk.com"
  std::string base_url;  // zendesk_base_url: account root overriding the subdomain, loopback or allowed_hosts
  std::string email;     // zendesk_email: the agent the API token belongs to
  std::string api_token;  // zendesk_api_token (secret)

  // The settings `config` holds (defaults for what it lacks).
  static ZendeskSettings FromConfig(const Config& config);
  // Puts these settings into `config` (the demo points it at the emulator; tests).
  void WriteTo(Config& config) const;
};

// What the platform declares to the loader; the registry lists it.
ConfigSection SettingsSection();

}  // namespace deskpipe::zendesk
