#include "fake/fake_platform.h"

#include <utility>
#include <vector>

#include "core/ids.h"
#include "core/log.h"
#include "core/settings_binding.h"

namespace deskpipe::fake {
namespace {

const SettingsBinding<FakeSettings>& Binding() {
  static const SettingsBinding<FakeSettings> binding =
      SettingsBinding<FakeSettings>("fake")
          .Field(&FakeSettings::account,
                 {.key = "fake_account",
                  .env = "FAKE_HELPDESK_ACCOUNT",
                  .doc = "Fake helpdesk account name",
                  .flag = "fake-account",
                  .flag_scope = FlagScope::kSource})
          .Field(&FakeSettings::token,
                 {.key = "fake_token",
                  .env = "FAKE_HELPDESK_TOKEN",
                  .doc = "Fake helpdesk token (secret: never printed or logged)",
                  .secret = true,
                  .flag = "fake-token",
                  .flag_scope = FlagScope::kSource})
          .Field(&FakeSettings::label,
                 {.key = "fake_label", .env = "FAKE_HELPDESK_LABEL", .doc = "Word put in every fake record's text"})
          .Check([](const FakeSettings& s, const Config&) -> std::optional<ConfigProblem> {
            if (s.label.empty()) return ConfigProblem{"fake_label", "must not be empty"};
            return std::nullopt;
          });
  return binding;
}

struct FakeItem {
  const char* id;
  const char* title;
  const char* text;
};

// The account's content per stream: the record type and its items.
struct FakeStream {
  const char* name;
  const char* type;
  std::vector<FakeItem> items;
};

const std::vector<FakeStream>& Streams() {
  static const std::vector<FakeStream> streams = {
      {"cases",
       "ticket",
       {{"1", "Printer jams on every page", "The office printer jams on every page since the update."},
        {"2", "Invoice shows the wrong currency", "My invoice for March is in dollars instead of euros."}}},
      {"guides",
       "article",
       {{"g-1", "Clearing a paper jam", "Open the front cover and pull the stuck sheet out slowly."},
        {"g-2", "Changing the invoice currency", "Billing settings let an admin pick the invoice currency."}}},
  };
  return streams;
}

class FakeSource : public Source {
 public:
  FakeSource(std::string tenant_id, FakeSettings settings)
      : tenant_id_(std::move(tenant_id)), settings_(std::move(settings)) {}

  std::string platform() const override { return "fake"; }

  std::vector<std::string> Streams() const override {
    std::vector<std::string> names;
    for (const FakeStream& stream : fake::Streams()) names.emplace_back(stream.name);
    return names;
  }

  // The whole stream in one batch on the first run; nothing new after that.
  Result<Batch> Next(const std::string& stream, const nlohmann::json& cursor) override {
    Batch batch;
    batch.stream = stream;
    batch.cursor = {{"read", true}};
    batch.done = true;
    if (!cursor.is_null()) return batch;
    for (const FakeStream& s : fake::Streams()) {
      if (stream != s.name) continue;
      for (const FakeItem& item : s.items) {
        Record record;
        ASSIGN_OR_RETURN(record.id, MakeDocumentId(tenant_id_, "fake", item.id));
        record.original_id = item.id;
        record.tenant_id = tenant_id_;
        record.platform = "fake";
        record.type = s.type;
        record.title = item.title;
        record.content = std::string(item.text) + " (" + settings_.account + ", " + settings_.label + ")";
        record.status = s.type == std::string("article") ? "published" : "open";
        record.created_at = "2026-01-02T03:04:05Z";
        record.updated_at = "2026-01-02T03:04:05Z";
        batch.records.push_back(std::move(record));
      }
      return batch;
    }
    return Error(InvalidArgument("fake platform has no stream " + stream));
  }

 private:
  std::string tenant_id_;
  FakeSettings settings_;
};

}  // namespace

FakeSettings FakeSettings::FromConfig(const Config& config) { return Binding().Read(config); }

ConfigSection SettingsSection() { return Binding().Section(); }

Result<std::unique_ptr<Source>> CreateSource(const Config& config, net::HttpClient& /*http*/) {
  FakeSettings settings = FakeSettings::FromConfig(config);
  if (settings.account.empty()) {
    return Error(InvalidArgument("no fake account: set FAKE_HELPDESK_ACCOUNT or --fake-account"));
  }
  if (settings.token.empty()) {
    return Error(InvalidArgument("no fake token: set FAKE_HELPDESK_TOKEN or --fake-token"));
  }
  // Logs its token on purpose: the test checks the logger hides it because the declaration says secret.
  log::Info("fake helpdesk: signed in", {{"account", settings.account}, {"token", settings.token}});
  return std::unique_ptr<Source>(std::make_unique<FakeSource>(config.tenant_id, std::move(settings)));
}

}  // namespace deskpipe::fake
