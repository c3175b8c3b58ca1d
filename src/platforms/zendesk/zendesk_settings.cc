#include "platforms/zendesk/zendesk_settings.h"

#include "core/settings_binding.h"

namespace deskpipe::zendesk {
namespace {

const SettingsBinding<ZendeskSettings>& Binding() {
  static const SettingsBinding<ZendeskSettings> binding =
      SettingsBinding<ZendeskSettings>("zendesk")
          .Field(&ZendeskSettings::subdomain, {.key = "zendesk_subdomain",
                                               .env = "ZENDESK_SUBDOMAIN",
                                               .doc = "Zendesk account: \"acme\" or \"acme.zendesk.com\"",
                                               .flag = "subdomain",
                                               .flag_scope = FlagScope::kSource})
          // "--base-url" is Freshdesk's; flags are one namespace across platforms.
          .Field(
              &ZendeskSettings::base_url,
              {.key = "zendesk_base_url",
               .env = "ZENDESK_BASE_URL",
               .doc =
                   "Zendesk account root URL overriding the subdomain (loopback or a host in allowed_hosts)",
               .flag = "zendesk-base-url",
               .flag_scope = FlagScope::kSource})
          .Field(&ZendeskSettings::email, {.key = "zendesk_email",
                                           .env = "ZENDESK_EMAIL",
                                           .doc = "Email of the Zendesk agent the API token belongs to",
                                           .flag = "email",
                                           .flag_scope = FlagScope::kSource})
          .Field(&ZendeskSettings::api_token,
                 {.key = "zendesk_api_token",
                  .env = "ZENDESK_API_TOKEN",
                  .doc = "Zendesk API token (secret: never printed or logged; prefer the environment)",
                  .secret = true,
                  .flag = "api-token",
                  .flag_scope = FlagScope::kSource});
  return binding;
}

}  // namespace

ZendeskSettings ZendeskSettings::FromConfig(const Config& config) { return Binding().Read(config); }

void ZendeskSettings::WriteTo(Config& config) const { Binding().Write(*this, config); }

ConfigSection SettingsSection() { return Binding().Section(); }

}  // namespace deskpipe::zendesk
