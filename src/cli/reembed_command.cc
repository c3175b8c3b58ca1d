#include "cli/reembed_command.h"

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "embed/embedder_factory.h"
#include "pipeline/tenant_store.h"

namespace deskpipe::cli {
namespace {

int CommandReembed(const Flags& flags, bool wait, bool json) {
  auto config = BuildConfig(flags);
  if (!config) return Fail(nullptr, config.error());
  auto embedder = MakeEmbedder(*config);
  if (!embedder) return Fail(&*config, embedder.error());
  auto tenant = OpenTenantAsRecorded(*config, {.wait = wait, .command = "deskpipe reembed"}, (*embedder)->dimension());
  if (!tenant) return Fail(&*config, tenant.error());
  const TenantProfile from = tenant->profile;
  TenantProfile to = from;
  const TenantProfile wanted = ProfileFor(*config, **embedder);
  to.embedder = wanted.embedder;
  to.model_id = wanted.model_id;
  to.dimension = wanted.dimension;
  Store& store = *tenant->store;
  std::printf("re-embedding tenant %s: %s → %s\n", config->tenant_id.c_str(), from.DescribeEmbedder().c_str(),
              to.DescribeEmbedder().c_str());
  auto report = store.Reembed(
      config->tenant_id, to, [&](const std::vector<std::string>& texts) { return (*embedder)->Embed(texts); });
  if (!report) return Fail(&*config, report.error());
  if (json) {
    std::printf("%s\n", nlohmann::json({{"tenant", config->tenant_id},
                                        {"from", from.ToJson()},
                                        {"to", to.ToJson()},
                                        {"chunks", report->chunks},
                                        {"from_cache", report->from_cache},
                                        {"embedded", report->embedded},
                                        {"skipped", report->skipped}})
                            .dump()
                            .c_str());
  } else {
    std::printf("re-embedded %lld chunks (%lld from the cache, %lld embedded); tenant %s now uses --embedder %s\n",
                static_cast<long long>(report->chunks), static_cast<long long>(report->from_cache),
                static_cast<long long>(report->embedded), config->tenant_id.c_str(), to.embedder.c_str());
    if (!report->skipped.empty()) {
      std::printf("  %zu chunks have no stored text (VECTOR_DB_STORE_ORIGINAL_TEXT=false) and are left without a "
                  "vector until their document changes\n",
                  report->skipped.size());
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
