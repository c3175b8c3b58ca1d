#include "store/tenant_write_lock.h"

#include <unistd.h>

#include <array>
#include <thread>

#include <nlohmann/json.hpp>

#include "core/log.h"
#include "core/time.h"

namespace deskpipe {

LockHolder LockHolder::Self(const std::string& command) {
  LockHolder holder;
  holder.pid = static_cast<int64_t>(getpid());
  std::array<char, 256> host{};
  if (gethostname(host.data(), host.size() - 1) == 0) holder.host = host.data();
  holder.since = FormatTimestamp(NowUnixSeconds());
  holder.command = command;
  return holder;
}

std::string LockHolder::ToJson() const {
  return nlohmann::json({{"pid", pid}, {"host", host}, {"since", since}, {"command", command}}).dump();
}

LockHolder LockHolder::FromJson(const std::string& text) {
  LockHolder holder;
  const auto json = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!json.is_object()) return holder;
  if (auto it = json.find("pid"); it != json.end() && it->is_number_integer()) holder.pid = it->get<int64_t>();
  if (auto it = json.find("host"); it != json.end() && it->is_string()) holder.host = it->get<std::string>();
  if (auto it = json.find("since"); it != json.end() && it->is_string()) holder.since = it->get<std::string>();
  if (auto it = json.find("command"); it != json.end() && it->is_string()) holder.command = it->get<std::string>();
  return holder;
}

Status TenantBusy(const std::string& tenant_id, const LockHolder& holder) {
  std::string who = "another process";
  if (holder.pid > 0) {
    who = "pid " + std::to_string(holder.pid);
    if (!holder.host.empty()) who += " on " + holder.host;
    if (!holder.since.empty()) who += " since " + holder.since;
    if (!holder.command.empty()) who += " (" + holder.command + ")";
  }
  return Status(StatusCode::kBusy,
                "tenant " + tenant_id + " is being written by " + who + "; pass --wait to wait for it");
}

Result<void> AcquireTenantLock(const std::string& tenant_id, const WriteLockOptions& options,
                               const std::function<Result<bool>()>& try_lock,
                               const std::function<LockHolder()>& holder, std::chrono::milliseconds grace,
                               std::chrono::milliseconds poll) {
  const auto give_up = std::chrono::steady_clock::now() + grace;
  bool announced = false;
  for (;;) {
    ASSIGN_OR_RETURN(bool held, try_lock());
    if (held) return {};
    if (!options.wait) {
      if (std::chrono::steady_clock::now() >= give_up) return Error(TenantBusy(tenant_id, holder()));
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      continue;
    }
    if (!announced) {
      const LockHolder other = holder();
      log::Info("waiting for the tenant's other writer",
                {{"tenant", tenant_id}, {"pid", other.pid}, {"since", other.since}, {"command", other.command}});
      announced = true;
    }
    if (options.stop != nullptr && options.stop->load()) {
      return Error(Cancelled("stopped while waiting for tenant " + tenant_id + "'s write lock"));
    }
    std::this_thread::sleep_for(poll);
  }
}

}  // namespace deskpipe
