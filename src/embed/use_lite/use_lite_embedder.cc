#include "embed/use_lite/use_lite_embedder.h"

#include <cstdlib>

#include "embed/use_lite/blas_runtime.h"
#include "embed/use_lite/tfjs_graph_model.h"

namespace deskpipe::embed {

Result<std::unique_ptr<UseLiteEmbedder>> UseLiteEmbedder::Load(const std::string& model_dir) {
  ASSIGN_OR_RETURN(TfjsGraphModel graph, TfjsGraphModel::Load(model_dir));
  ASSIGN_OR_RETURN(std::unique_ptr<UseLiteModel> model, UseLiteModel::Load(graph));
  ASSIGN_OR_RETURN(SentencePieceTokenizer tokenizer, SentencePieceTokenizer::Load(model_dir + "/vocab.json"));
  if (tokenizer.vocabulary_size() > model->vocabulary_rows()) {
    return Error(InvalidArgument(model_dir + "/vocab.json: " + std::to_string(tokenizer.vocabulary_size()) +
                                 " pieces but the model embeds only " +
                                 std::to_string(model->vocabulary_rows())));
  }
  return std::unique_ptr<UseLiteEmbedder>(new UseLiteEmbedder(std::move(tokenizer), std::move(model)));
}

std::string UseLiteEmbedder::DefaultModelDir() {
  const char* env = std::getenv("DESKPIPE_ASSET_DIR");
  const std::string assets = env && *env ? env : DESKPIPE_ASSET_DIR;
  return assets + "/use-lite/dist";
}

int UseLiteEmbedder::CountTokens(const std::string& text) const {
  return static_cast<int>(tokenizer_.Encode(text).size());
}

void UseLiteEmbedder::SetConcurrentCalls(int calls) {
  if (calls > 1) SetBlasThreads(1);
}

Result<std::vector<std::vector<float>>> UseLiteEmbedder::Embed(const std::vector<std::string>& texts) {
  std::vector<std::vector<int>> ids;
  ids.reserve(texts.size());
  for (const std::string& text : texts) ids.push_back(tokenizer_.Encode(text));
  return model_->Embed(ids);
}

}  // namespace deskpipe::embed
