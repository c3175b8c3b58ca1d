// Tenant, platform, document and chunk ids (DESIGN §2). Pure functions; thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "core/status.h"

namespace deskpipe {

// [a-z0-9][a-z0-9-]{0,63}; InvalidArgument naming the id and the rule otherwise.
Result<void> ValidateTenantId(std::string_view tenant_id);
// [a-z0-9]+
Result<void> ValidatePlatformId(std::string_view platform);

// "{tenant_id}_{platform}_{original_id}"; original_id must be non-empty and free of whitespace and '#'.
Result<std::string> MakeDocumentId(std::string_view tenant_id, std::string_view platform,
                                   std::string_view original_id);

// original_id for a non-ticket type: "article-456". Tickets use the bare number.
std::string QualifiedOriginalId(std::string_view type, std::string_view id);

// "{document_id}#{index}"
std::string MakeChunkId(std::string_view document_id, int index);

}  // namespace deskpipe
