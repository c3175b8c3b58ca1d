#include "cli/serve_command.h"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <thread>
#include <string>

#include <fmt/format.h>

#include "app/config_sections.h"
#include "core/file_read.h"
#include "core/log.h"
#include "pipeline/stop_signal.h"
#include "service/server.h"

namespace deskpipe::cli {
namespace {

struct ServeFlags {
  std::string listen = "127.0.0.1:8080";
  std::optional<int> port;  // overrides listen's port; 0 picks a free one
  int jobs = 2;
  std::string worker_id;  // empty ⇒ host:pid
  int lease_seconds = 30;
  int http_threads = 64;
  std::string admin_token_file;
  std::string master_key_file;
  bool insecure_no_auth = false;
  double rate_limit = 50;
};

// "HOST:PORT" or "[v6]:PORT".
Result<std::pair<std::string, int>> ParseListen(const std::string& listen) {
  const size_t colon = listen.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    return Error(
        InvalidArgument(fmt::format("--listen {}: expected HOST:PORT, e.g. 127.0.0.1:8080", listen)));
  }
  std::string host = listen.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  const std::string port_text = listen.substr(colon + 1);
  char* end = nullptr;
  const long port = std::strtol(port_text.c_str(), &end, 10);
  if (port_text.empty() || *end != '\0' || port < 0 || port > 65535) {
    return Error(InvalidArgument(fmt::format("--listen {}: the port must be 0 to 65535", listen)));
  }
  return std::pair{host, static_cast<int>(port)};
}

// A secret from a file (first line, trimmed), or the environment variable.
Result<std::string> SecretFrom(const std::string& file, const char* env, const char* flag) {
  if (!file.empty()) {
    ASSIGN_OR_RETURN(std::string text, ReadRegularFile(file, 4096, "4 KiB (a token file)"));
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' '))
      text.pop_back();
    if (text.empty()) return Error(InvalidArgument(fmt::format("{} {} is empty", flag, file)));
    return text;
  }
  const char* value = std::getenv(env);
  return std::string(value != nullptr ? value : "");
}

int RunServe(const Flags& flags, const ServeFlags& serve) {
  auto config = BuildConfig(flags);  // logging and the server's own settings checked up front
  if (!config) return Fail(nullptr, config.error());
  auto listen = ParseListen(serve.listen);
  if (!listen) return Fail(&*config, listen.error());

  service::ServerOptions options;
  options.host = listen->first;
  options.port = serve.port.value_or(listen->second);
  options.jobs = serve.jobs;
  options.worker_id = serve.worker_id;
  options.lease = std::chrono::seconds(serve.lease_seconds);
  options.http_threads = serve.http_threads;
  options.insecure_no_auth = serve.insecure_no_auth;
  options.requests_per_second = serve.rate_limit;
  options.burst = serve.rate_limit * 2;
  options.master_key_file = serve.master_key_file;
  auto admin = SecretFrom(serve.admin_token_file, "DESKPIPE_ADMIN_TOKEN", "--admin-token-file");
  if (!admin) return Fail(&*config, admin.error());
  options.admin_token = *admin;
  auto master = SecretFrom("", "DESKPIPE_MASTER_KEY", "");
  options.master_key_hex = *master;
  options.sources.file = flags.config_file;
  options.sources.env = app::ReadEnvironment();
  options.sources.flags = flags.values;

  // SIGINT/SIGTERM set the process's stop flag (pipeline/stop_signal.h; a second one ends the process at
  // once). Blocking them for sigwait() would not do: threads started before main (OpenBLAS's) leave them
  // unblocked, and the default action would kill the server with jobs in flight.
  InstallStopSignalHandlers();
  auto server = service::Server::Create(std::move(options));
  if (!server) return Fail(&*config, server.error());
  std::atomic<bool> done{false};
  std::thread stopper([&] {
    while (!done && !ProcessStopFlag().load()) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    (*server)->Stop();  // returns Run() below
  });
  auto ran = (*server)->Run([&](int port) {
    std::printf("listening on http://%s:%d\n",
                listen->first.find(':') != std::string::npos ? ("[" + listen->first + "]").c_str()
                                                             : listen->first.c_str(),
                port);
    std::fflush(stdout);
  });
  done = true;
  stopper.join();
  if (!ran) return Fail(&*config, ran.error());
  server->reset();
  std::printf("stopped\n");
  return kExitOk;
}

}  // namespace

void RegisterServeCommand(CLI::App& app, Flags& flags, int& exit_code) {
  CLI::App* command = app.add_subcommand(
      "serve",
      "Run the ingestion service: tenants, ingest jobs, live progress, search, metrics, a web console");
  auto serve = std::make_shared<ServeFlags>();
  command->add_option("--listen", serve->listen, "Address to listen on, HOST:PORT")->capture_default_str();
  command->add_option("--port", serve->port, "Port, overriding --listen's (0 picks a free one)")
      ->check(CLI::Range(0, 65535));
  command->add_option("--jobs", serve->jobs, "Syncs this worker runs at once, across tenants")
      ->capture_default_str()
      ->check(CLI::Range(1, 64));
  command
      ->add_option("--worker-id", serve->worker_id,
                   "This worker's id among the servers sharing a PostgreSQL store (default HOST:PID); "
                   "letters, digits and . _ : -")
      ->check(CLI::Validator(
          [](const std::string& id) -> std::string {
            if (id.empty() || id.size() > 128) return "--worker-id must be 1 to 128 characters";
            if (id.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._:-") !=
                std::string::npos) {
              return "--worker-id " + id + ": only letters, digits and . _ : - are allowed";
            }
            return "";
          },
          "ID", "worker id"));
  command
      ->add_option("--lease-seconds", serve->lease_seconds,
                   "A claimed job's lease; renewed every third of it, taken over by another worker once "
                   "it ends")
      ->capture_default_str()
      ->check(CLI::Range(1, 3600));
  command
      ->add_option("--http-threads", serve->http_threads,
                   "Connections served at once (event streams hold one)")
      ->capture_default_str()
      ->check(CLI::Range(4, 1024));
  command->add_option("--admin-token-file", serve->admin_token_file,
                      "File holding the admin token (else DESKPIPE_ADMIN_TOKEN)");
  command->add_option(
      "--master-key-file", serve->master_key_file,
      "File holding the key that seals tenants' API keys, 64 hex digits (else DESKPIPE_MASTER_KEY, "
      "else {data_dir}/master.key, created)");
  command->add_flag("--insecure-no-auth", serve->insecure_no_auth,
                    "Serve without tokens (every caller is admin); loopback addresses only");
  command->add_option("--rate-limit", serve->rate_limit, "Requests per second per token (0 = no limit)")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1e6));
  AddConfigFlag(command, flags, "--data-dir", "data_dir", "Data directory (DESKPIPE_DATA_DIR)");
  AddConfigFlag(command, flags, "--store", "store_url",
                "Store URL: sqlite://… or postgres://… (DESKPIPE_STORE_URL)");
  AddConfigFlag(command, flags, "--embedder", "embedder",
                "Default embedder for new tenants (DESKPIPE_EMBEDDER)");
  command->callback([&flags, &exit_code, serve] { exit_code = RunServe(flags, *serve); });
}

}  // namespace deskpipe::cli
