// KnownRecord: one record a store holds, as a source needs it to diff against (the KnownRecords view of
// platforms/platform.h). In core because both sides use it: the store produces it, platforms consume it, and
// neither includes the other.
// Thread-safety: a plain value. Lifetime: a value.
#pragma once

#include <string>

namespace deskpipe {

struct KnownRecord {
  std::string id;          // record id: {tenant_id}_{platform}_{original_id}
  std::string updated_at;  // as stored (UTC ISO-8601)
  std::string state;       // document state ("active", "deleted", "spam", "archived") or record status
  std::string parent_id;   // a conversation's ticket record id; empty otherwise
};

}  // namespace deskpipe
