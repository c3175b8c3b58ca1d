#include "cli/verify_command.h"

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "app/app.h"

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
  auto outcome = app::App(*config).Verify(repair, {.wait = wait, .command = "deskpipe verify --repair"});
  if (!outcome) return Fail(&*config, outcome.error());
  const VerifyReport& found = outcome->found;
  const VerifyReport& final_report = outcome->final_report;
  if (json) {
    nlohmann::json out = {{"tenant", config->tenant_id}, {"found", ReportToJson(found)}};
    if (repair) out["after_repair"] = ReportToJson(final_report);
    std::printf("%s\n", out.dump().c_str());
  } else {
    std::printf("verify tenant %s: %lld documents, %lld chunks, %lld vectors: %s\n", config->tenant_id.c_str(),
                static_cast<long long>(found.documents), static_cast<long long>(found.chunks),
                static_cast<long long>(found.vectors), found.ok() ? "ok" : "problems found");
    PrintList("chunks without a vector", found.chunks_without_vector);
    std::vector<std::string> stray;
    for (int64_t key : found.vectors_without_chunk) stray.push_back(std::to_string(key));
    PrintList("vectors without a chunk (keys)", stray);
    PrintList("chunks whose text does not match its hash", found.chunk_hash_mismatches);
    PrintList("chunks without a document", found.orphan_chunks);
    PrintList("cursor problems", found.cursor_problems);
    PrintList("mode problems", found.mode_problems);
    if (found.dead_vectors > 0) {
      std::printf("  %lld vectors of deleted chunks in sealed segments (never returned by a search; "
                  "--repair compacts them)\n", static_cast<long long>(found.dead_vectors));
    }
    if (outcome->mended) {
      std::printf("repair: %lld problems mended (%lld chunks embedded again); now %s\n",
                  static_cast<long long>(final_report.repaired), static_cast<long long>(final_report.re_embedded),
                  final_report.ok() ? "ok" : "problems remain");
      for (const std::string& removed : final_report.removed) std::printf("  removed %s\n", removed.c_str());
      for (const std::string& left : final_report.unrepaired) std::printf("  left as it was: %s\n", left.c_str());
    } else if (!found.ok()) {
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
