// Reads a TensorFlow.js graph model from disk: `model.json` (the graph's nodes and the weights manifest)
// and the binary weight shards it names. Weights are decoded to float32 or int32 (little-endian; affine
// uint8/uint16 quantization and float16 are dequantized to float32); nothing is executed here — the forward
// pass that uses these tensors lives in use_lite_model.h.
// Thread-safety: immutable after Load(); const methods may be called from several threads at once.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/status.h"

namespace deskpipe::embed {

// One weight tensor. Exactly one of `floats` / `ints` is filled, by `dtype`.
struct TfjsTensor {
  enum class Type { kFloat32, kInt32 };
  Type type = Type::kFloat32;
  std::vector<int64_t> shape;
  std::vector<float> floats;
  std::vector<int32_t> ints;

  int64_t NumElements() const;
};

// One node of the graph: its op ("MatMul") and input names ("x", "split:1").
struct TfjsNode {
  std::string op;
  std::vector<std::string> inputs;
};

class TfjsGraphModel {
 public:
  // Loads `<model_dir>/model.json` and its shards. Errors name the file: NotFound-like problems and
  // malformed JSON or shard sizes are InvalidArgument.
  static Result<TfjsGraphModel> Load(const std::string& model_dir);

  const std::map<std::string, TfjsNode>& nodes() const { return nodes_; }
  const std::map<std::string, TfjsTensor>& weights() const { return weights_; }

  // The named float tensor, checked against `shape`; InvalidArgument naming the weight otherwise.
  Result<const TfjsTensor*> FloatWeight(const std::string& name, const std::vector<int64_t>& shape) const;
  // A scalar (or one-element) constant of either type, as a double.
  Result<double> Scalar(const std::string& name) const;
  // InvalidArgument unless a node `name` exists with op `op`.
  Result<void> ExpectNode(const std::string& name, const std::string& op) const;

 private:
  std::string model_json_path_;
  std::map<std::string, TfjsNode> nodes_;
  std::map<std::string, TfjsTensor> weights_;
};

}  // namespace deskpipe::embed
