// The Freshdesk platform's settings: what it declares to the config loader (key, environment variable, flag,
// type, default, doc, secret) and the typed struct it reads them back as. The seed's names (FRESHDESK_DOMAIN,
// FRESHDESK_API_KEY, --domain, --base-url, --api-key, …) are declared here and nowhere else.
// Thread-safety: plain values and read-only declarations. Lifetime: the section's declarations live for the
// process.
#pragma once

#include <string>

#include "core/config.h"

namespace deskpipe::freshdesk {

struct FreshdeskSettings {
  std::string domain;    // freshdesk_domain: "acme" or "acme.freshdesk.com"
  std::string base_url;  // freshdesk_base_url: helpdesk root, loopback or in allowed_hosts
  std::string api_key;   // freshdesk_api_key (secret)
  int attachment_max_bytes = 20 * 1024 * 1024;  // 0 = download none
  bool index_drafts = false;                    // draft articles indexed like published ones
  int reconcile_interval = 24 * 3600;           // seconds between reconciliation sweeps
  int reconcile_max_probes = 2000;              // ticket views per sync; 0 = no sweep

  // The settings `config` holds (defaults for what it lacks).
  static FreshdeskSettings FromConfig(const Config& config);
  // Puts these settings into `config` (the demo points it at the emulator; tests).
  void WriteTo(Config& config) const;
};

// What the platform declares to the loader; the registry lists it.
ConfigSection SettingsSection();

}  // namespace deskpipe::freshdesk
