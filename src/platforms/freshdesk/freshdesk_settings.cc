#include "platforms/freshdesk/freshdesk_settings.h"

#include "core/settings_binding.h"

namespace deskpipe::freshdesk {
namespace {

const SettingsBinding<FreshdeskSettings>& Binding() {
  static const SettingsBinding<FreshdeskSettings> binding =
      SettingsBinding<FreshdeskSettings>("freshdesk")
          .Field(&FreshdeskSettings::domain,
                 {.key = "freshdesk_domain",
                  .env = "FRESHDESK_DOMAIN",
                  .doc = "Freshdesk account: \"acme\" or \"acme.freshdesk.com\"",
                  .flag = "domain",
                  .flag_scope = FlagScope::kSource})
          .Field(&FreshdeskSettings::base_url,
                 {.key = "freshdesk_base_url",
                  .env = "FRESHDESK_BASE_URL",
                  .doc = "Helpdesk root URL overriding the domain (loopback or a host in allowed_hosts)",
                  .flag = "base-url",
                  .flag_scope = FlagScope::kSource})
          .Field(&FreshdeskSettings::api_key,
                 {.key = "freshdesk_api_key",
                  .env = "FRESHDESK_API_KEY",
                  .doc = "Freshdesk API key (secret: never printed or logged; prefer the environment)",
                  .secret = true,
                  .flag = "api-key",
                  .flag_scope = FlagScope::kSource})
          .Field(&FreshdeskSettings::attachment_max_bytes,
                 {.key = "attachment_max_bytes",
                  .env = "DESKPIPE_ATTACHMENT_MAX_BYTES",
                  .doc = "Largest attachment downloaded, in bytes, checked before download (>= 0; 0 = none are "
                         "downloaded)"})
          .Field(&FreshdeskSettings::index_drafts,
                 {.key = "index_drafts",
                  .env = "DESKPIPE_INDEX_DRAFTS",
                  .doc = "Index draft knowledge-base articles like published ones (else kept apart, not "
                         "searchable)"})
          .Field(&FreshdeskSettings::reconcile_interval,
                 {.key = "reconcile_interval",
                  .env = "DESKPIPE_RECONCILE_INTERVAL",
                  .doc = "Seconds between reconciliation sweeps over stored tickets (deletes, archive) (>= 0)"})
          .Field(&FreshdeskSettings::reconcile_max_probes,
                 {.key = "reconcile_max_probes",
                  .env = "DESKPIPE_RECONCILE_MAX_PROBES",
                  .doc = "Ticket views one sync may spend on the reconciliation sweep (>= 0; 0 = no sweep)"})
          .Check([](const FreshdeskSettings& s, const Config&) -> std::optional<ConfigProblem> {
            const std::pair<const char*, int> counts[] = {{"attachment_max_bytes", s.attachment_max_bytes},
                                                          {"reconcile_interval", s.reconcile_interval},
                                                          {"reconcile_max_probes", s.reconcile_max_probes}};
            for (const auto& [key, value] : counts) {
              if (value < 0) return ConfigProblem{key, std::to_string(value) + " is negative"};
            }
            return std::nullopt;
          });
  return binding;
}

}  // namespace

FreshdeskSettings FreshdeskSettings::FromConfig(const Config& config) { return Binding().Read(config); }

void FreshdeskSettings::WriteTo(Config& config) const { Binding().Write(*this, config); }

ConfigSection SettingsSection() { return Binding().Section(); }

}  // namespace deskpipe::freshdesk
