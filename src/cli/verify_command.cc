#include "cli/verify_command.h"

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "embed/embedder_factory.h"
#include "pipeline/tenant_store.h"

namespace deskpipe::cli {
namespace {

nlohmann::json ReportToJson(const VerifyReport& r) {
  return {{"ok", r.ok()},
          {"documents", r.documents},
          {"chunks", r.chunks},
          {"vectors", r.vectors},
          {"chunks_without_vector", r.chunks_without_vector},
          {"vectors_without_chunk", r.vectors_without_chunk},
          {"dead_vectors", r.dead_vectors},
          {"chunk_hash_mismatches", r.chunk_hash_mismatches},
          {"orphan_chunks", r.orphan_chunks},
          {"cursor_problems", r.cursor_problems},
          {"mode_problems", r.mode_problems},
          {"repaired", r.repaired},
          {"re_embedded", r.re_embedded},
          {"removed", r.removed},
          {"unrepaired", r.unrepaired}};
}

void PrintList(const char* what, const std::vector<std::string>& items) {
  if (items.empty()) return;
  std::printf("  %zu %s:", items.size(), what);
  for (size_t i = 0; i < items.size() && i < 10; ++i) std::printf(" %s", items[i].c_str());
  std::printf("%s\n", items.size() > 10 ? " …" : "");
}

int CommandVerify(const Flags& flags, bool repair, bool wait, bool json) {
  auto config = BuildConfig(flags);
  if (!config) return Fail(nullptr, config.error());
  // Without --repair nothing is written and no embedder is loaded; with it, the tenant's own embedder embeds
  // again what the cache no longer holds.
  std::unique_ptr<Embedder> embedder;
  Result<TenantStore> tenant = Error(Internal("not opened"));
  if (repair) {
    auto made = MakeEmbedder(*config);
    if (!made) return Fail(&*config, made.error());
    embedder = std::move(*made);
    tenant = OpenTenantForWriting(*config, *embedder, /*allow_new=*/false,
                                  {.wait = wait, .command = "deskpipe verify --repair"});
  } else {
    tenant = OpenTenantForReading(*config);
  }
  if (!tenant) return Fail(&*config, tenant.error());
  Store& store = *tenant->store;
  const std::vector<std::string> mode_problems = ModeProblems(*config, tenant->profile);
  auto found = store.Verify(config->tenant_id, /*repair=*/false);
  if (!found) return Fail(&*config, found.error());
  found->mode_problems = mode_problems;
  VerifyReport final_report = *found;
  const bool mend = !found->ok() || found->dead_vectors > 0;
  if (repair && mend) {
    VerifyOptions options;
    options.repair = true;
    options.model_id = embedder->model_id();
    options.embed = [&embedder](const std::vector<std::string>& texts) { return embedder->Embed(texts); };
    auto repaired = store.VerifyTenant(config->tenant_id, options);
    if (!repaired) return Fail(&*config, repaired.error());
    auto after = store.Verify(config->tenant_id, /*repair=*/false);
    if (!after) return Fail(&*config, after.error());
    final_report = *after;
    final_report.mode_problems = mode_problems;
    final_report.repaired = repaired->repaired;
    final_report.re_embedded = repaired->re_embedded;
    final_report.removed = repaired->removed;
    final_report.unrepaired = repaired->unrepaired;
  }
  if (json) {
    nlohmann::json out = {{"tenant", config->tenant_id}, {"found", ReportToJson(*found)}};
    if (repair) out["after_repair"] = ReportToJson(final_report);
    std::printf("%s\n", out.dump().c_str());
  } else {
    std::printf("verify tenant %s: %lld documents, %lld chunks, %lld vectors: %s\n", config->tenant_id.c_str(),
                static_cast<long long>(found->documents), static_cast<long long>(found->chunks),
                static_cast<long long>(found->vectors), found->ok() ? "ok" : "problems found");
    PrintList("chunks without a vector", found->chunks_without_vector);
    std::vector<std::string> stray;
    for (int64_t key : found->vectors_without_chunk) stray.push_back(std::to_string(key));
    PrintList("vectors without a chunk (keys)", stray);
    PrintList("chunks whose text does not match its hash", found->chunk_hash_mismatches);
    PrintList("chunks without a document", found->orphan_chunks);
    PrintList("cursor problems", found->cursor_problems);
    PrintList("mode problems", found->mode_problems);
    if (found->dead_vectors > 0) {
      std::printf("  %lld vectors of deleted chunks in sealed segments (never returned by a search; "
                  "--repair compacts them)\n", static_cast<long long>(found->dead_vectors));
    }
    if (repair && mend) {
      std::printf("repair: %lld problems mended (%lld chunks embedded again); now %s\n",
                  static_cast<long long>(final_report.repaired), static_cast<long long>(final_report.re_embedded),
                  final_report.ok() ? "ok" : "problems remain");
      for (const std::string& removed : final_report.removed) std::printf("  removed %s\n", removed.c_str());
      for (const std::string& left : final_report.unrepaired) std::printf("  left as it was: %s\n", left.c_str());
    } else if (!found->ok()) {
      std::printf("run again with --repair to mend it (nothing but provably orphaned rows is ever removed)\n");
    }
  }
  return final_report.ok() ? kExitOk : kExitFailure;
}

}  // namespace

void RegisterVerifyCommand(CLI::App& app, Flags& flags, int& exit_code) {
  CLI::App* verify = app.add_subcommand("verify", "Check one tenant's data integrity (--repair mends it)");
  AddStoreFlags(verify, flags);
  static bool repair = false;
  static bool json = false;
  static bool wait = false;
  verify->add_flag("--repair", repair,
                   "Mend it: lost vectors from the cache or embedded again with the tenant's embedder; only "
                   "provably orphaned rows are removed");
  verify->add_flag("--json", json, "Print JSON");
  verify->add_flag("--wait", wait, "With --repair: if another process is writing the tenant, wait for it");
  verify->callback([&flags, &exit_code] { exit_code = CommandVerify(flags, repair, wait, json); });
}

}  // namespace deskpipe::cli
