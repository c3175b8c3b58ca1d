#include "embed/embedding_server.h"

#include <httplib.h>

#include <chrono>

#include <nlohmann/json.hpp>

#include "core/json_text.h"
#include "core/log.h"

namespace deskpipe {
namespace {

std::string ErrorBody(const std::string& message, const std::string& type, const std::string& code) {
  return CompactJson({{"error", {{"message", message}, {"type", type}, {"param", nullptr}, {"code", code}}}});
}

// Constant-time comparison (for equal lengths), so the key cannot be found byte by byte from response times.
bool SameSecret(const std::string& given, const std::string& expected) {
  if (given.size() != expected.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < given.size(); ++i) diff |= static_cast<unsigned char>(given[i] ^ expected[i]);
  return diff == 0;
}

}  // namespace

EmbeddingServer::EmbeddingServer(Embedder& embedder, EmbeddingServerOptions options)
    : embedder_(embedder), options_(std::move(options)), server_(std::make_unique<httplib::Server>()) {
  if (options_.model_name.empty()) options_.model_name = embedder_.model_id();
}

EmbeddingServer::~EmbeddingServer() { Stop(); }

std::string EmbeddingServer::base_url() const {
  const std::string host = options_.host.find(':') != std::string::npos ? "[" + options_.host + "]" : options_.host;
  return "http://" + host + ":" + std::to_string(port_) + "/v1";
}

void EmbeddingServer::Stop() {
  if (server_) server_->stop();
  if (thread_.joinable()) thread_.join();
}

Result<std::unique_ptr<EmbeddingServer>> EmbeddingServer::Start(Embedder& embedder, EmbeddingServerOptions options) {
  if (options.port < 0 || options.port > 65535) {
    return Error(InvalidArgument("port " + std::to_string(options.port) + " is not in 0..65535"));
  }
  auto server = std::unique_ptr<EmbeddingServer>(new EmbeddingServer(embedder, std::move(options)));
  EmbeddingServer* self = server.get();
  httplib::Server& http = *server->server_;
  http.set_payload_max_length(self->options_.max_body_bytes);
  http.Post("/v1/embeddings", [self](const httplib::Request& req, httplib::Response& res) {
    int status = 200;
    std::string body;
    self->Handle(req.body, req.get_header_value("Authorization"), status, body);
    res.status = status;
    res.set_content(body, "application/json");
  });
  http.Get("/v1/models", [self](const httplib::Request&, httplib::Response& res) {
    nlohmann::json models = {
        {"object", "list"},
        {"data", {{{"id", self->options_.model_name}, {"object", "model"}, {"owned_by", "deskpipe"}}}}};
    res.set_content(models.dump(), "application/json");
  });
  http.Get("/health", [](const httplib::Request&, httplib::Response& res) { res.set_content("ok", "text/plain"); });

  const std::string& host = self->options_.host;
  if (self->options_.port == 0) {
    server->port_ = http.bind_to_any_port(host.c_str());
  } else {
    server->port_ = http.bind_to_port(host.c_str(), self->options_.port) ? self->options_.port : -1;
  }
  if (server->port_ <= 0) {
    return Error(Unavailable("cannot listen on " + host + ":" + std::to_string(self->options_.port) +
                             " (address in use or not local?)"));
  }
  server->thread_ = std::thread([self] { self->server_->listen_after_bind(); });
  // The socket already accepts connections; wait for the accept loop so that Stop() cannot miss it.
  for (int i = 0; i < 5000 && !http.is_running(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  return server;
}

void EmbeddingServer::Handle(const std::string& body, const std::string& authorization, int& status,
                             std::string& response) {
  if (!options_.api_key.empty() && !SameSecret(authorization, "Bearer " + options_.api_key)) {
    status = 401;
    response = ErrorBody("missing or wrong API key (Authorization: Bearer …)", "invalid_request_error",
                         "invalid_api_key");
    return;
  }
  auto bad = [&](int code, const std::string& message, const std::string& error_code = "invalid_request") {
    status = code;
    response = ErrorBody(message, "invalid_request_error", error_code);
  };
  auto json = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (!json.is_object()) return bad(400, "the request body is not a JSON object");

  if (json.contains("model") && !json["model"].is_null()) {
    if (!json["model"].is_string()) return bad(400, "\"model\" must be a string");
    const std::string model = json["model"].get<std::string>();
    if (!model.empty() && model != options_.model_name) {
      return bad(404, "model '" + model + "' is not served here; this server serves '" + options_.model_name + "'",
                 "model_not_found");
    }
  }
  if (json.contains("encoding_format") && json["encoding_format"] != "float") {
    return bad(400, "only encoding_format \"float\" is supported");
  }
  if (json.contains("dimensions") &&
      (!json["dimensions"].is_number_integer() || json["dimensions"].get<int64_t>() != embedder_.dimension())) {
    return bad(400, "\"dimensions\" must be " + std::to_string(embedder_.dimension()) + " for model '" +
                        options_.model_name + "'");
  }
  if (!json.contains("input")) return bad(400, "\"input\" is required");
  std::vector<std::string> texts;
  const auto& input = json["input"];
  if (input.is_string()) {
    texts.push_back(input.get<std::string>());
  } else if (input.is_array()) {
    for (size_t i = 0; i < input.size(); ++i) {
      if (!input[i].is_string()) {
        return bad(400, "\"input\"[" + std::to_string(i) + "] is not a string (token arrays are not supported)");
      }
      texts.push_back(input[i].get<std::string>());
    }
  } else {
    return bad(400, "\"input\" must be a string or an array of strings");
  }
  if (texts.empty()) return bad(400, "\"input\" is empty");
  if (static_cast<int>(texts.size()) > options_.max_inputs) {
    return bad(413, std::to_string(texts.size()) + " inputs; at most " + std::to_string(options_.max_inputs) +
                        " per request");
  }

  int64_t tokens = 0;
  Result<std::vector<std::vector<float>>> vectors;
  {
    std::lock_guard<std::mutex> lock(embed_mutex_);
    for (const std::string& text : texts) tokens += embedder_.CountTokens(text);
    vectors = embedder_.Embed(texts);
  }
  if (!vectors) {
    log::Warn("serve-embeddings: embedding failed", {{"error", vectors.error().ToString()}});
    status = vectors.error().code() == StatusCode::kInvalidArgument ? 400 : 500;
    response = ErrorBody(vectors.error().message(), status == 400 ? "invalid_request_error" : "server_error",
                         status == 400 ? "invalid_request" : "internal_error");
    return;
  }
  nlohmann::json data = nlohmann::json::array();
  for (size_t i = 0; i < vectors->size(); ++i) {
    data.push_back({{"object", "embedding"}, {"index", i}, {"embedding", std::move((*vectors)[i])}});
  }
  nlohmann::json out = {{"object", "list"},
                        {"data", std::move(data)},
                        {"model", options_.model_name},
                        {"usage", {{"prompt_tokens", tokens}, {"total_tokens", tokens}}}};
  status = 200;
  response = CompactJson(out);
}

}  // namespace deskpipe
