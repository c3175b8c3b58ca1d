#include "core/ids.h"

#include <string>

namespace deskpipe {
namespace {

bool IsLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

}  // namespace

Result<void> ValidateTenantId(std::string_view tenant_id) {
  bool valid = !tenant_id.empty() && tenant_id.size() <= 64 && IsLowerAlnum(tenant_id.front());
  for (char c : tenant_id) valid = valid && (IsLowerAlnum(c) || c == '-');
  if (!valid) {
    return Error(InvalidArgument("tenant id '" + std::string(tenant_id) +
                                 "' is invalid: use 1-64 characters of a-z, 0-9 and '-', starting with a "
                                 "letter or digit"));
  }
  return {};
}

Result<void> ValidatePlatformId(std::string_view platform) {
  bool valid = !platform.empty();
  for (char c : platform) valid = valid && IsLowerAlnum(c);
  if (!valid) {
    return Error(InvalidArgument("platform id '" + std::string(platform) +
                                 "' is invalid: use one or more characters of a-z and 0-9"));
  }
  return {};
}

Result<std::string> MakeDocumentId(std::string_view tenant_id, std::string_view platform,
                                   std::string_view original_id) {
  RETURN_IF_ERROR(ValidateTenantId(tenant_id));
  RETURN_IF_ERROR(ValidatePlatformId(platform));
  if (original_id.empty()) return Error(InvalidArgument("original id is empty"));
  for (char c : original_id) {
    if (c == '#' || static_cast<unsigned char>(c) <= ' ') {
      return Error(InvalidArgument("original id '" + std::string(original_id) +
                                   "' contains whitespace, a control character or '#'"));
    }
  }
  std::string id;
  id.reserve(tenant_id.size() + platform.size() + original_id.size() + 2);
  id.append(tenant_id).append("_").append(platform).append("_").append(original_id);
  return id;
}

std::string QualifiedOriginalId(std::string_view type, std::string_view id) {
  return std::string(type) + "-" + std::string(id);
}

std::string MakeChunkId(std::string_view document_id, int index) {
  return std::string(document_id) + "#" + std::to_string(index);
}

}  // namespace deskpipe
