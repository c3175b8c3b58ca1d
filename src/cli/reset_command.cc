#include "cli/reset_command.h"

#include <cstdio>
#include <cstdlib>
#include <string>

#include <nlohmann/json.hpp>

#include "app/app.h"

namespace deskpipe::cli {
namespace {

int CommandReset(const Flags& flags, bool tenant_given, bool wait, bool json) {
  auto config = BuildConfig(flags);
  if (!config) return Fail(nullptr, config.error());
  // A reset deletes data: the tenant must be named, never taken from the default.
  if (!tenant_given && config->tenant_id == Config{}.tenant_id) {
    return Fail(&*config, InvalidArgument("reset needs --tenant (or TENANT_ID): the tenant whose data goes"));
  }
  auto report = app::App(*config).Reset({.wait = wait, .command = "deskpipe reset"});
  if (!report) return Fail(&*config, report.error());
  if (json) {
    std::printf("%s\n", nlohmann::json({{"tenant", config->tenant_id},
                                        {"records", report->records},
                                        {"documents", report->documents},
                                        {"chunks", report->chunks},
                                        {"vectors", report->vectors},
                                        {"cursors", report->cursors}})
                            .dump()
                            .c_str());
  } else {
    std::printf("reset tenant %s: removed %lld records, %lld documents, %lld chunks, %lld vectors, %lld cursors\n",
                config->tenant_id.c_str(), static_cast<long long>(report->records),
                static_cast<long long>(report->documents), static_cast<long long>(report->chunks),
                static_cast<long long>(report->vectors), static_cast<long long>(report->cursors));
  }
  return kExitOk;
}

}  // namespace

void RegisterResetCommand(CLI::App& app, Flags& flags, int& exit_code) {
  CLI::App* reset = app.add_subcommand("reset", "Remove exactly one tenant's data (rows, chunks, vectors, cursors)");
  AddStoreFlags(reset, flags);
  static bool json = false;
  static bool wait = false;
  reset->add_flag("--json", json, "Print JSON");
  reset->add_flag("--wait", wait, "If another process is writing the tenant, wait for it (default: exit 2)");
  reset->callback([&flags, &exit_code, reset] {
    const bool tenant_given = reset->count("--tenant") > 0 || std::getenv("TENANT_ID") != nullptr;
    exit_code = CommandReset(flags, tenant_given, wait, json);
  });
}

}  // namespace deskpipe::cli
