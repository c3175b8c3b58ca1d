// Real support text for the Zendesk emulator (--dataset DIR, normally /work/shared/data), read at run time
// through the Freshdesk emulator's reader (tools/freshdesk-emulator/dataset.h) so both emulators serve the
// same dialogs: every IBM Twitter dialog and Bitext row becomes a ticket (the first message its description,
// the later ones public comments by the requester or an agent), every ABCD guideline an en-us article in one
// section per flow. Users, organizations, groups and fields stay the generated ones.
//
// Pure function over an Account the caller owns; thread-compatible.
#pragma once

#include <cstdint>
#include <string>

#include "account.h"
#include "core/status.h"

namespace deskpipe::zendesk_emulator {

// max_tickets > 0 caps the tickets; NotFound/InvalidArgument name a missing or malformed file.
Result<void> LoadDataset(Account* account, const std::string& directory, int max_tickets, uint64_t seed);

}  // namespace deskpipe::zendesk_emulator
