#include "core/status.h"

namespace deskpipe {

std::string_view StatusCodeName(StatusCode code) {
  switch (code) {
    case StatusCode::kOk: return "OK";
    case StatusCode::kInvalidArgument: return "InvalidArgument";
    case StatusCode::kUnauthenticated: return "Unauthenticated";
    case StatusCode::kPermissionDenied: return "PermissionDenied";
    case StatusCode::kNotFound: return "NotFound";
    case StatusCode::kRateLimited: return "RateLimited";
    case StatusCode::kUnavailable: return "Unavailable";
    case StatusCode::kInvalidRecord: return "InvalidRecord";
    case StatusCode::kCancelled: return "Cancelled";
    case StatusCode::kBusy: return "Busy";
    case StatusCode::kInternal: return "Internal";
    case StatusCode::kDataLoss: return "DataLoss";
  }
  return "Unknown";
}

Status Status::WithContext(std::string_view context) const {
  Status s = *this;
  s.message_ = std::string(context) + ": " + message_;
  return s;
}

std::string Status::ToString() const {
  if (ok()) return "OK";
  return std::string(StatusCodeName(code_)) + ": " + message_;
}

}  // namespace deskpipe
