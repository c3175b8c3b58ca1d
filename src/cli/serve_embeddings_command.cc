#include "cli/serve_embeddings_command.h"

#include <pthread.h>
#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "core/log.h"
#include "embed/embedder_factory.h"
#include "embed/embedding_server.h"

namespace deskpipe::cli {
namespace {

struct ServeOptions {
  std::string host = "127.0.0.1";
  int port = 8080;
  std::string model;       // embedder; default: the config's (use-lite)
  std::string model_name;  // what clients send as "model"; default: the embedder's name
};

int RunServeEmbeddings(Flags flags, const ServeOptions& serve) {
  if (!serve.model.empty()) flags.values["embedder"] = serve.model;
  auto config = BuildConfig(flags);
  if (!config) return Fail(nullptr, config.error());
  if (config->embedder == "openai") {
    return Fail(&*config, InvalidArgument("serve-embeddings serves a local model: --model use-lite or hashing"));
  }
  auto embedder = MakeEmbedder(*config);
  if (!embedder) return Fail(&*config, embedder.error());

  EmbeddingServerOptions options;
  options.host = serve.host;
  options.port = serve.port;
  // Named after what actually serves (use-lite falls back to hashing when its weights are absent).
  const std::string id = (*embedder)->model_id();
  options.model_name = !serve.model_name.empty()       ? serve.model_name
                       : id.rfind("use-lite", 0) == 0 ? "use-lite"
                       : id.rfind("hashing", 0) == 0  ? "hashing"
                                                      : config->embedder;
  if (const char* key = std::getenv("DESKPIPE_SERVE_API_KEY"); key != nullptr && *key) {
    options.api_key = key;
    log::AddSecret(key);
  }
  const bool loopback = serve.host == "127.0.0.1" || serve.host == "localhost" || serve.host == "::1";
  if (!loopback && options.api_key.empty()) {
    log::Warn("serve-embeddings: listening beyond loopback without DESKPIPE_SERVE_API_KEY", {{"host", serve.host}});
  }

  // SIGINT/SIGTERM are taken by sigwait() below; block them before the server's threads start so they inherit
  // the mask and the signal reaches this thread.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  auto server = EmbeddingServer::Start(**embedder, options);
  if (!server) return Fail(&*config, server.error());
  std::printf("listening on %s (model %s, %d dimensions)\n", (*server)->base_url().c_str(),
              options.model_name.c_str(), (*embedder)->dimension());
  std::fflush(stdout);
  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  (*server)->Stop();
  return kExitOk;
}

}  // namespace

void RegisterServeEmbeddingsCommand(CLI::App& app, Flags& flags, int& exit_code) {
  CLI::App* command = app.add_subcommand(
      "serve-embeddings", "Answer OpenAI-compatible POST /v1/embeddings with the local model");
  auto serve = std::make_shared<ServeOptions>();
  command->add_option("--host", serve->host, "Address to listen on")->capture_default_str();
  command->add_option("--port", serve->port, "Port (0 picks a free one)")->capture_default_str()->check(
      CLI::Range(0, 65535));
  command->add_option("--model", serve->model, "Local embedder: use-lite (default) or hashing")
      ->check(CLI::IsMember({"use-lite", "hashing"}));
  command->add_option("--model-name", serve->model_name, "Model name clients send (default: the --model value)");
  command->callback([&flags, &exit_code, serve] { exit_code = RunServeEmbeddings(flags, *serve); });
}

}  // namespace deskpipe::cli
