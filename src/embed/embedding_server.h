// An OpenAI-compatible embeddings endpoint over an in-process Embedder (cpp-httplib): what
// `deskpipe serve-embeddings` runs, and what the OpenAI client's tests talk to.
//
//   POST /v1/embeddings  {"model": "...", "input": "text" | ["text", ...], "encoding_format"?: "float",
//                         "dimensions"?: n}
//     → 200 {"object":"list","data":[{"object":"embedding","index":i,"embedding":[...]}],"model":...,
//            "usage":{"prompt_tokens":n,"total_tokens":n}}
//     errors in OpenAI's shape {"error":{"message","type","code"}}: 400 bad JSON, input or options, 401 when an
//     API key is configured and the request lacks "Authorization: Bearer <key>", 404 for another model,
//     413 for too many inputs, 500 when the embedder fails.
//   GET /v1/models  → the one model served.       GET /health → "ok".
//
// `model` may be omitted or name the served model (its id as given in the options, e.g. "use-lite").
// Thread-safety: requests are handled on httplib's thread pool; Embed() calls are serialized by a mutex (the
// embedders use all cores inside one call). Lifetime: the Embedder must outlive the server; the destructor
// stops the server and joins its thread.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "core/status.h"
#include "embed/embedder.h"

namespace httplib {
class Server;
}

namespace deskpipe {

struct EmbeddingServerOptions {
  std::string host = "127.0.0.1";
  int port = 0;               // 0 ⇒ a free port, see port()
  std::string model_name;     // what clients name in "model"; default: the embedder's model_id()
  std::string api_key;        // secret; empty ⇒ no authentication
  int max_inputs = 2048;      // per request, as OpenAI
  size_t max_body_bytes = 32 << 20;
};

class EmbeddingServer {
 public:
  // Binds and starts serving on a background thread. Unavailable when the address cannot be bound.
  static Result<std::unique_ptr<EmbeddingServer>> Start(Embedder& embedder, EmbeddingServerOptions options);
  ~EmbeddingServer();
  EmbeddingServer(const EmbeddingServer&) = delete;
  EmbeddingServer& operator=(const EmbeddingServer&) = delete;

  int port() const { return port_; }
  // "http://127.0.0.1:PORT/v1": what a client takes as its base URL.
  std::string base_url() const;
  // Stops accepting and returns once the serving thread has ended. Idempotent.
  void Stop();

 private:
  EmbeddingServer(Embedder& embedder, EmbeddingServerOptions options);
  void Handle(const std::string& body, const std::string& authorization, int& status, std::string& response);

  Embedder& embedder_;
  EmbeddingServerOptions options_;
  std::mutex embed_mutex_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;
};

}  // namespace deskpipe
