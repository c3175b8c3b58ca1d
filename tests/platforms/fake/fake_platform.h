// A small fake helpdesk platform, "fake", added exactly the way a real one is: this one folder (its settings, its
// source, its `kPlatform` definition) plus one line in a registry list (platform_list_with_fake.cc). It proves that
// a platform's keys, flags and secrets reach the loader, the CLI and the logger with no change elsewhere. It is
// linked only into the test build of the CLI (deskpipe-with-fake), never into deskpipe.
//
// Its account is two streams of two records each, made in memory: "cases" (tickets) and "guides" (articles),
// their text naming the account and fake_label. Reading needs a non-empty fake_token (a secret).
// Thread-safety: a FakeSource is driven by one task at a time (like any Source). Lifetime: the settings'
// declarations live for the process.
#pragma once

#include <memory>
#include <string>

#include "core/config.h"
#include "core/status.h"
#include "net/http_client.h"
#include "platforms/platform.h"

namespace deskpipe::fake {

struct FakeSettings {
  std::string account;         // fake_account (FAKE_HELPDESK_ACCOUNT, --fake-account)
  std::string token;           // fake_token (FAKE_HELPDESK_TOKEN, --fake-token): secret
  std::string label = "plain";  // fake_label (FAKE_HELPDESK_LABEL; file and environment only)

  static FakeSettings FromConfig(const Config& config);
};

ConfigSection SettingsSection();

// InvalidArgument naming the setting when the account or the token is missing.
Result<std::unique_ptr<Source>> CreateSource(const Config& config, net::HttpClient& http);

inline constexpr PlatformDefinition kPlatform{"fake", &CreateSource, &SettingsSection};

}  // namespace deskpipe::fake
