#include "cli/reembed_command.h"

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "app/app.h"

namespace deskpipe::cli {
namespace {

int CommandReembed(const Flags& flags, bool wait, bool json) {
  auto config = BuildConfig(flags);
  if (!config) return Fail(nullptr, config.error());
  auto outcome = app::App(*config).Reembed(
      {.wait = wait, .command = "deskpipe reembed"}, [&](const TenantProfile& from, const TenantProfile& to) {
        if (json) return;
        std::printf("re-embedding tenant %s: %s → %s\n", config->tenant_id.c_str(), from.DescribeEmbedder().c_str(),
                    to.DescribeEmbedder().c_str());
        std::fflush(stdout);
      });
  if (!outcome) return Fail(&*config, outcome.error());
  const TenantProfile& from = outcome->from;
  const TenantProfile& to = outcome->to;
  const ReembedReport& report = outcome->report;
  if (json) {
    std::printf("%s\n", nlohmann::json({{"tenant", config->tenant_id},
                                        {"from", from.ToJson()},
                                        {"to", to.ToJson()},
                                        {"chunks", report.chunks},
                                        {"from_cache", report.from_cache},
                                        {"embedded", report.embedded},
                                        {"skipped", report.skipped}})
                            .dump()
                            .c_str());
  } else {
    std::printf("re-embedded %lld chunks (%lld from the cache, %lld embedded); tenant %s now uses --embedder %s\n",
                static_cast<long long>(report.chunks), static_cast<long long>(report.from_cache),
                static_cast<long long>(report.embedded), config->tenant_id.c_str(), to.embedder.c_str());
    if (!report.skipped.empty()) {
      std::printf("  %zu chunks have no stored text (VECTOR_DB_STORE_ORIGINAL_TEXT=false) and are left without a "
                  "vector until their document changes\n",
                  report.skipped.size());
    }
  }
  return kExitOk;
}

}  // namespace

void RegisterReembedCommand(CLI::App& app, Flags& flags, int& exit_code) {
  CLI::App* reembed =
      app.add_subcommand("reembed", "Re-embed one tenant's chunks with another embedder and swap them in");
  AddStoreFlags(reembed, flags);
  static bool json = false;
  static bool wait = false;
  reembed->add_flag("--json", json, "Print JSON");
  reembed->add_flag("--wait", wait, "If another process is writing the tenant, wait for it (default: exit 2)");
  reembed->callback([&flags, &exit_code] { exit_code = CommandReembed(flags, wait, json); });
}

}  // namespace deskpipe::cli
