#include "embed/use_lite/tfjs_graph_model.h"

#include <bit>
#include <cmath>
#include <cstring>
#include <iterator>
#include <nlohmann/json.hpp>

#include "core/file_read.h"

namespace deskpipe::embed {
namespace {

static_assert(std::endian::native == std::endian::little, "weight shards are little-endian");

std::string ShapeString(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ',';
    s += std::to_string(shape[i]);
  }
  s += ']';
  return s;
}

// The model's JSON and weight shards are a few MB each; a path naming a device or a FIFO is refused.
Result<std::string> ReadFile(const std::string& path) {
  return ReadRegularFile(path, 256ll << 20, "256 MiB (the limit for a model file)");
}

float HalfToFloat(uint16_t h) {
  const int sign = (h >> 15) & 1, exponent = (h >> 10) & 0x1f, mantissa = h & 0x3ff;
  float v;
  if (exponent == 0) {
    v = std::ldexp(static_cast<float>(mantissa), -24);
  } else if (exponent == 31) {
    v = mantissa ? NAN : INFINITY;
  } else {
    v = std::ldexp(static_cast<float>(mantissa | 0x400), exponent - 25);
  }
  return sign ? -v : v;
}

// Decodes one manifest entry starting at `bytes + *offset`; advances *offset.
Result<TfjsTensor> DecodeWeight(const nlohmann::json& spec, const std::string& bytes, size_t* offset,
                                const std::string& where) {
  TfjsTensor t;
  const std::string name = spec.value("name", "");
  const auto& shape = spec.at("shape");
  if (!shape.is_array()) return Error(InvalidArgument(where + ": weight " + name + " has no shape"));
  for (const auto& d : shape) {
    if (!d.is_number_integer() || d.get<int64_t>() < 0) {
      return Error(InvalidArgument(where + ": weight " + name + " has a bad dimension"));
    }
    t.shape.push_back(d.get<int64_t>());
  }
  const int64_t n = t.NumElements();
  const std::string dtype = spec.value("dtype", "");
  if (dtype != "float32" && dtype != "int32") {
    return Error(InvalidArgument(where + ": weight " + name + " has unsupported dtype '" + dtype + "'"));
  }
  t.type = dtype == "float32" ? TfjsTensor::Type::kFloat32 : TfjsTensor::Type::kInt32;

  std::string stored = dtype;  // how the bytes are laid out in the shard
  double scale = 1, min = 0;
  if (spec.contains("quantization")) {
    const auto& q = spec["quantization"];
    stored = q.value("dtype", "");
    if (stored == "uint8" || stored == "uint16") {
      if (!q.contains("scale") || !q.contains("min")) {
        return Error(InvalidArgument(where + ": weight " + name + " is quantized without scale/min"));
      }
      scale = q["scale"].get<double>();
      min = q["min"].get<double>();
    } else if (stored != "float16") {
      return Error(
          InvalidArgument(where + ": weight " + name + " has unsupported quantization '" + stored + "'"));
    }
    if (stored == "float16" && t.type != TfjsTensor::Type::kFloat32) {
      return Error(InvalidArgument(where + ": weight " + name + " is float16-quantized but not float32"));
    }
  }
  const size_t width = stored == "uint8" ? 1 : (stored == "uint16" || stored == "float16") ? 2 : 4;
  const size_t size = static_cast<size_t>(n) * width;
  if (*offset + size > bytes.size()) {
    return Error(InvalidArgument(where + ": weight shards end inside weight " + name + " (need " +
                                 std::to_string(*offset + size) + " bytes, have " +
                                 std::to_string(bytes.size()) + ")"));
  }
  const char* p = bytes.data() + *offset;
  *offset += size;

  auto emit = [&](int64_t i, double v) {
    if (t.type == TfjsTensor::Type::kFloat32) {
      t.floats[i] = static_cast<float>(v);
    } else {
      t.ints[i] = static_cast<int32_t>(std::lround(v));
    }
  };
  if (t.type == TfjsTensor::Type::kFloat32) {
    t.floats.resize(n);
  } else {
    t.ints.resize(n);
  }
  if (stored == "float32") {
    std::memcpy(t.floats.data(), p, size);
  } else if (stored == "int32") {
    std::memcpy(t.ints.data(), p, size);
  } else if (stored == "float16") {
    for (int64_t i = 0; i < n; ++i) {
      uint16_t h;
      std::memcpy(&h, p + 2 * i, 2);
      t.floats[i] = HalfToFloat(h);
    }
  } else if (stored == "uint8") {
    for (int64_t i = 0; i < n; ++i) emit(i, static_cast<uint8_t>(p[i]) * scale + min);
  } else {  // uint16
    for (int64_t i = 0; i < n; ++i) {
      uint16_t u;
      std::memcpy(&u, p + 2 * i, 2);
      emit(i, u * scale + min);
    }
  }
  return t;
}

}  // namespace

int64_t TfjsTensor::NumElements() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

Result<TfjsGraphModel> TfjsGraphModel::Load(const std::string& model_dir) {
  TfjsGraphModel model;
  model.model_json_path_ = model_dir + "/model.json";
  const std::string& where = model.model_json_path_;
  ASSIGN_OR_RETURN(std::string text, ReadFile(where));
  try {
    const nlohmann::json root = nlohmann::json::parse(text);
    const auto& topology = root.at("modelTopology");
    for (const auto& node : topology.at("node")) {
      TfjsNode n;
      n.op = node.at("op").get<std::string>();
      if (node.contains("input")) n.inputs = node["input"].get<std::vector<std::string>>();
      model.nodes_[node.at("name").get<std::string>()] = std::move(n);
    }
    for (const auto& group : root.at("weightsManifest")) {
      std::string bytes;
      for (const auto& path : group.at("paths")) {
        const std::string shard = model_dir + "/" + path.get<std::string>();
        ASSIGN_OR_RETURN(std::string data, ReadFile(shard));
        bytes += data;
      }
      size_t offset = 0;
      for (const auto& spec : group.at("weights")) {
        ASSIGN_OR_RETURN(TfjsTensor t, DecodeWeight(spec, bytes, &offset, where));
        model.weights_[spec.at("name").get<std::string>()] = std::move(t);
      }
      if (offset != bytes.size()) {
        return Error(InvalidArgument(where + ": weight shards hold " + std::to_string(bytes.size()) +
                                     " bytes but the manifest describes " + std::to_string(offset)));
      }
    }
  } catch (const nlohmann::json::exception& e) {
    return Error(InvalidArgument(where + ": malformed TF.js model: " + e.what()));
  }
  if (model.nodes_.empty()) return Error(InvalidArgument(where + ": the graph has no nodes"));
  return model;
}

Result<const TfjsTensor*> TfjsGraphModel::FloatWeight(const std::string& name,
                                                      const std::vector<int64_t>& shape) const {
  auto it = weights_.find(name);
  if (it == weights_.end()) return Error(InvalidArgument(model_json_path_ + ": missing weight " + name));
  if (it->second.type != TfjsTensor::Type::kFloat32) {
    return Error(InvalidArgument(model_json_path_ + ": weight " + name + " is not float32"));
  }
  if (it->second.shape != shape) {
    return Error(InvalidArgument(model_json_path_ + ": weight " + name + " has shape " +
                                 ShapeString(it->second.shape) + ", expected " + ShapeString(shape)));
  }
  return &it->second;
}

Result<double> TfjsGraphModel::Scalar(const std::string& name) const {
  auto it = weights_.find(name);
  if (it == weights_.end()) return Error(InvalidArgument(model_json_path_ + ": missing constant " + name));
  const TfjsTensor& t = it->second;
  if (t.NumElements() != 1) {
    return Error(InvalidArgument(model_json_path_ + ": constant " + name + " is not a scalar"));
  }
  return t.type == TfjsTensor::Type::kFloat32 ? static_cast<double>(t.floats[0]) : t.ints[0];
}

Result<void> TfjsGraphModel::ExpectNode(const std::string& name, const std::string& op) const {
  auto it = nodes_.find(name);
  if (it == nodes_.end()) return Error(InvalidArgument(model_json_path_ + ": graph has no node " + name));
  if (it->second.op != op) {
    return Error(
        InvalidArgument(model_json_path_ + ": node " + name + " is " + it->second.op + ", expected " + op));
  }
  return {};
}

}  // namespace deskpipe::embed
