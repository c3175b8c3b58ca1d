#include "embed/use_lite/tfjs_graph_model.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "embed/use_lite/use_lite_embedder.h"
#include "embed/use_lite/use_lite_model.h"

namespace deskpipe::embed {
namespace {

namespace fs = std::filesystem;

class TfjsGraphModelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("tfjs_model_test_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  void Write(const std::string& name, const std::string& content) {
    std::ofstream(dir_ / name, std::ios::binary) << content;
  }
  static std::string Floats(std::initializer_list<float> values) {
    std::string out(values.size() * 4, '\0');
    std::memcpy(out.data(), std::data(values), out.size());
    return out;
  }
  // Copies the real model (and vocabulary) into dir_.
  void CopyRealModel() {
    for (const auto& entry : fs::directory_iterator(UseLiteEmbedder::DefaultModelDir())) {
      fs::copy_file(entry.path(), dir_ / entry.path().filename());
    }
  }
  std::string Message(const Status& s) { return s.ToString(); }

  fs::path dir_;
};

TEST_F(TfjsGraphModelTest, DecodesFloatIntAndQuantizedWeights) {
  Write("model.json", R"({"modelTopology": {"node": [{"name": "x", "op": "Placeholder"}]},
    "weightsManifest": [{"paths": ["w.bin"], "weights": [
      {"name": "f", "shape": [2], "dtype": "float32"},
      {"name": "i", "shape": [], "dtype": "int32"},
      {"name": "q", "shape": [3], "dtype": "float32", "quantization": {"dtype": "uint8", "scale": 0.5, "min": -1}}]}]})");
  std::string bin = Floats({1.5f, -2.0f});
  const int32_t seven = 7;
  bin.append(reinterpret_cast<const char*>(&seven), 4);
  bin += std::string("\x00\x02\x04", 3);
  Write("w.bin", bin);
  auto model = TfjsGraphModel::Load(dir_.string());
  ASSERT_TRUE(model) << model.error().ToString();
  EXPECT_EQ(model->weights().at("f").floats, (std::vector<float>{1.5f, -2.0f}));
  EXPECT_EQ(model->Scalar("i").value(), 7);
  EXPECT_EQ(model->weights().at("q").floats, (std::vector<float>{-1.0f, 0.0f, 1.0f}));
  EXPECT_EQ(model->nodes().at("x").op, "Placeholder");
  auto wrong_shape = model->FloatWeight("f", {3});
  ASSERT_FALSE(wrong_shape);
  EXPECT_NE(wrong_shape.error().message().find("expected [3]"), std::string::npos);
}

TEST_F(TfjsGraphModelTest, ErrorsNameTheFile) {
  auto missing = TfjsGraphModel::Load((dir_ / "nowhere").string());
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(missing.error().message().find("nowhere/model.json"), std::string::npos);

  Write("model.json", "{\"modelTopology\": ");
  auto malformed = TfjsGraphModel::Load(dir_.string());
  ASSERT_FALSE(malformed);
  EXPECT_NE(malformed.error().message().find("model.json"), std::string::npos);

  const std::string manifest = R"({"modelTopology": {"node": [{"name": "x", "op": "Const"}]},
    "weightsManifest": [{"paths": ["w.bin"], "weights": [{"name": "f", "shape": [2], "dtype": "DTYPE"}]}]})";
  Write("model.json",
        manifest.substr(0, manifest.find("DTYPE")) + "float32" + manifest.substr(manifest.find("DTYPE") + 5));
  auto no_shard = TfjsGraphModel::Load(dir_.string());
  ASSERT_FALSE(no_shard);
  EXPECT_NE(no_shard.error().message().find("w.bin"), std::string::npos);

  Write("w.bin", Floats({1.0f}));  // one float short
  auto short_shard = TfjsGraphModel::Load(dir_.string());
  ASSERT_FALSE(short_shard);
  EXPECT_NE(short_shard.error().message().find("inside weight f"), std::string::npos);

  Write("w.bin", Floats({1.0f, 2.0f, 3.0f}));  // one float too many
  auto long_shard = TfjsGraphModel::Load(dir_.string());
  ASSERT_FALSE(long_shard);
  EXPECT_NE(long_shard.error().message().find("shards hold 12 bytes"), std::string::npos);

  Write("model.json",
        manifest.substr(0, manifest.find("DTYPE")) + "string" + manifest.substr(manifest.find("DTYPE") + 5));
  auto bad_dtype = TfjsGraphModel::Load(dir_.string());
  ASSERT_FALSE(bad_dtype);
  EXPECT_NE(bad_dtype.error().message().find("unsupported dtype 'string'"), std::string::npos);
}

TEST_F(TfjsGraphModelTest, UseLiteRejectsAGraphOfAnotherShape) {
  Write("model.json", R"({"modelTopology": {"node": [{"name": "indices", "op": "Placeholder"},
    {"name": "values", "op": "Placeholder"}]}, "weightsManifest": []})");
  auto graph = TfjsGraphModel::Load(dir_.string());
  ASSERT_TRUE(graph) << graph.error().ToString();
  auto model = UseLiteModel::Load(*graph);
  ASSERT_FALSE(model);
  EXPECT_EQ(model.error().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(model.error().message().find("ClipToMaxLength"), std::string::npos);

  Write("model.json", R"({"modelTopology": {"node": [{"name": "g", "op": "Gelu"}]}, "weightsManifest": []})");
  auto unknown_op = UseLiteModel::Load(*TfjsGraphModel::Load(dir_.string()));
  ASSERT_FALSE(unknown_op);
  EXPECT_NE(unknown_op.error().message().find("Gelu"), std::string::npos);
}

TEST_F(TfjsGraphModelTest, EmbedderLoadNamesMissingOrBrokenFiles) {
  CopyRealModel();
  fs::remove(dir_ / "vocab.json");
  auto no_vocab = UseLiteEmbedder::Load(dir_.string());
  ASSERT_FALSE(no_vocab);
  EXPECT_NE(no_vocab.error().message().find("vocab.json"), std::string::npos);

  fs::resize_file(dir_ / "group1-shard7of7", 1000);
  auto truncated = UseLiteEmbedder::Load(dir_.string());
  ASSERT_FALSE(truncated);
  EXPECT_EQ(truncated.error().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(truncated.error().message().find("model.json"), std::string::npos);

  fs::remove(dir_ / "group1-shard3of7");
  auto missing_shard = UseLiteEmbedder::Load(dir_.string());
  ASSERT_FALSE(missing_shard);
  EXPECT_NE(missing_shard.error().message().find("group1-shard3of7"), std::string::npos);
}

}  // namespace
}  // namespace deskpipe::embed
