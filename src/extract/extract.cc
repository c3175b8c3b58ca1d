#include "extract/extract.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <thread>

#include "core/hash.h"
#include "core/log.h"

extern char** environ;

namespace deskpipe::extract {
namespace {

constexpr size_t kStderrKeep = 2048;

// Closes a file descriptor when it goes out of scope.
struct Fd {
  int fd = -1;
  Fd() = default;
  explicit Fd(int f) : fd(f) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { Close(); }
  void Close() {
    if (fd >= 0) ::close(fd);
    fd = -1;
  }
};

std::string SignalName(int sig) {
  switch (sig) {
    case SIGSEGV:
      return "SIGSEGV";
    case SIGABRT:
      return "SIGABRT";
    case SIGBUS:
      return "SIGBUS";
    case SIGFPE:
      return "SIGFPE";
    case SIGILL:
      return "SIGILL";
    case SIGKILL:
      return "SIGKILL";
    case SIGXCPU:
      return "SIGXCPU (CPU time limit)";
    case SIGXFSZ:
      return "SIGXFSZ (it tried to write a file)";
    default:
      return "signal " + std::to_string(sig);
  }
}

// The last non-empty line of the worker's stderr, for messages.
std::string LastLine(const std::string& text) {
  size_t end = text.size();
  while (end > 0 && (text[end - 1] == '\n' || text[end - 1] == '\r' || text[end - 1] == ' ')) --end;
  size_t begin = text.rfind('\n', end == 0 ? 0 : end - 1);
  begin = begin == std::string::npos ? 0 : begin + 1;
  return text.substr(begin, end - begin);
}

bool WriteAllFd(int fd, std::string_view data) {
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

std::vector<std::string> WorkerArgs(const std::string& path, const ExtractLimits& limits) {
  return {path,
          "--max-file-bytes",
          std::to_string(limits.max_file_bytes),
          "--max-pdf-pages",
          std::to_string(limits.max_pdf_pages),
          "--max-image-pixels",
          std::to_string(limits.max_image_pixels),
          "--max-unpacked-bytes",
          std::to_string(limits.max_unpacked_bytes),
          "--max-text-bytes",
          std::to_string(limits.max_text_bytes),
          "--max-cpu-seconds",
          std::to_string(static_cast<long long>(std::ceil(limits.max_seconds))),
          "--max-memory-bytes",
          std::to_string(limits.max_memory_bytes)};
}

// The worker's environment: ours, with OpenMP (tesseract) held to one thread so that one file uses one core
// and the runner's parallelism decides the rest.
std::vector<std::string> WorkerEnv() {
  std::vector<std::string> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    if (std::strncmp(*e, "OMP_THREAD_LIMIT=", 17) == 0) continue;
    env.emplace_back(*e);
  }
  env.emplace_back("OMP_THREAD_LIMIT=1");
  return env;
}

std::vector<char*> CStrings(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (std::string& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

}  // namespace

// ------------------------------------------------------------------------------------------------ cache

bool ExtractCache::Lookup(const std::string& content_hash, ExtractResult& out) const {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = entries_.find(content_hash);
  if (it == entries_.end()) return false;
  out = it->second;
  ++hits_;
  return true;
}

void ExtractCache::Insert(const std::string& content_hash, const ExtractResult& result) {
  std::lock_guard<std::mutex> lock(mutex_);
  const int64_t cost =
      static_cast<int64_t>(result.text.size() + result.error.size() + content_hash.size() + 64);
  if (bytes_ + cost > max_bytes_ || entries_.count(content_hash)) return;
  entries_.emplace(content_hash, result);
  bytes_ += cost;
}

int64_t ExtractCache::hits() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return hits_;
}

int64_t ExtractCache::size() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return static_cast<int64_t>(entries_.size());
}

ExtractCache& ExtractCache::Default() {
  static ExtractCache cache;
  return cache;
}

// ------------------------------------------------------------------------------------------------ Extractor

Result<Extractor> Extractor::Create(ExtractLimits limits) {
  std::vector<std::string> tried;
  auto usable = [&](const std::string& path) {
    tried.push_back(path);
    return !path.empty() && ::access(path.c_str(), X_OK) == 0;
  };
  if (const char* env = std::getenv("DESKPIPE_EXTRACT_WORKER"); env != nullptr && *env != '\0') {
    if (usable(env)) return Extractor(limits, env);
    return Error(InvalidArgument(std::string("DESKPIPE_EXTRACT_WORKER names ") + env +
                                 ", which is not an executable file"));
  }
  std::error_code error;
  auto self = std::filesystem::read_symlink("/proc/self/exe", error);
  if (!error) {
    const std::string beside = (self.parent_path() / "deskpipe-extract-worker").string();
    if (usable(beside)) return Extractor(limits, beside);
  }
#ifdef DESKPIPE_EXTRACT_WORKER_BUILD_PATH
  if (usable(DESKPIPE_EXTRACT_WORKER_BUILD_PATH))
    return Extractor(limits, DESKPIPE_EXTRACT_WORKER_BUILD_PATH);
#endif
  std::string list;
  for (const std::string& path : tried) list += (list.empty() ? "" : ", ") + path;
  return Error(
      InvalidArgument("the attachment extraction worker deskpipe-extract-worker was not found (tried " +
                      list + "): build it, or set DESKPIPE_EXTRACT_WORKER"));
}

ExtractResult Extractor::Extract(std::string_view bytes, std::string_view name) const {
  ExtractResult result;
  const std::string what = name.empty() ? std::string("file") : std::string(name);
  if (static_cast<int64_t>(bytes.size()) > limits_.max_file_bytes) {
    result.error = "file: " + std::to_string(bytes.size()) + " bytes; the limit is " +
                   std::to_string(limits_.max_file_bytes) + " (max_file_bytes)";
    return result;
  }
  auto fail = [&](std::string reason) {
    result.text.clear();
    result.error = std::move(reason);
    return result;
  };

  // The file goes to the worker as an anonymous in-memory file on its stdin: no temp files, no pipe to feed.
  Fd input(::memfd_create("deskpipe-extract-input", MFD_CLOEXEC));
  if (input.fd < 0) return fail(std::string("cannot create the worker's input: ") + std::strerror(errno));
  if (!WriteAllFd(input.fd, bytes) || ::lseek(input.fd, 0, SEEK_SET) != 0) {
    return fail(std::string("cannot write the worker's input: ") + std::strerror(errno));
  }
  int out_pipe[2], err_pipe[2];
  if (::pipe2(out_pipe, O_CLOEXEC) != 0) return fail(std::string("pipe: ") + std::strerror(errno));
  Fd out_read(out_pipe[0]), out_write(out_pipe[1]);
  if (::pipe2(err_pipe, O_CLOEXEC) != 0) return fail(std::string("pipe: ") + std::strerror(errno));
  Fd err_read(err_pipe[0]), err_write(err_pipe[1]);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, input.fd, STDIN_FILENO);
  posix_spawn_file_actions_adddup2(&actions, out_write.fd, STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, err_write.fd, STDERR_FILENO);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none, defaults;
  sigemptyset(&none);
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGPIPE);
  sigaddset(&defaults, SIGXCPU);
  sigaddset(&defaults, SIGXFSZ);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  std::vector<std::string> args = WorkerArgs(worker_path_, limits_);
  std::vector<std::string> env = WorkerEnv();
  std::vector<char*> argv = CStrings(args);
  std::vector<char*> envp = CStrings(env);
  pid_t pid = -1;
  const int spawned = ::posix_spawn(&pid, worker_path_.c_str(), &actions, &attr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (spawned != 0) return fail("cannot start " + worker_path_ + ": " + std::strerror(spawned));
  out_write.Close();
  err_write.Close();
  input.Close();

  // Read both pipes until the worker closes them or the deadline passes.
  const double max_seconds = limits_.max_seconds > 0 ? limits_.max_seconds : ExtractLimits().max_seconds;
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(static_cast<int64_t>(max_seconds * 1000));
  const size_t max_out = static_cast<size_t>(std::max<int64_t>(0, limits_.max_text_bytes)) + 4096;
  std::string out, err;
  bool timed_out = false, overflow = false;
  char buffer[1 << 16];
  while (out_read.fd >= 0 || err_read.fd >= 0) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      timed_out = true;
      break;
    }
    pollfd fds[2];
    nfds_t n = 0;
    if (out_read.fd >= 0) fds[n++] = {out_read.fd, POLLIN, 0};
    if (err_read.fd >= 0) fds[n++] = {err_read.fd, POLLIN, 0};
    const int ready = ::poll(fds, n, static_cast<int>(std::min<int64_t>(left.count(), 1000)));
    if (ready < 0 && errno != EINTR) break;
    for (nfds_t i = 0; i < n; ++i) {
      if (fds[i].revents == 0) continue;
      const ssize_t got = ::read(fds[i].fd, buffer, sizeof buffer);
      if (got < 0 && errno == EINTR) continue;
      const bool is_out = fds[i].fd == out_read.fd;
      if (got <= 0) {
        (is_out ? out_read : err_read).Close();
        continue;
      }
      if (is_out) {
        out.append(buffer, static_cast<size_t>(got));
        if (out.size() > max_out) {
          overflow = true;
          break;
        }
      } else {
        err.append(buffer, static_cast<size_t>(got));
        if (err.size() > 4 * kStderrKeep) err.erase(0, err.size() - kStderrKeep);
      }
    }
    if (overflow) break;
  }
  if (timed_out || overflow) ::kill(pid, SIGKILL);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }

  // Parse what the worker said.
  size_t pos = 0;
  auto next_line = [&](std::string& line) {
    const size_t eol = out.find('\n', pos);
    if (eol == std::string::npos) return false;
    line = out.substr(pos, eol - pos);
    pos = eol + 1;
    return true;
  };
  std::string line;
  bool have_verdict = false;
  while (!have_verdict && next_line(line)) {
    if (line.rfind("type ", 0) == 0) {
      result.detected_type = line.substr(5);
    } else if (line.rfind("error ", 0) == 0) {
      result.error = line.substr(6);
      have_verdict = true;
    } else if (line.rfind("ok ", 0) == 0) {
      result.truncated = line == "ok 1";
      result.text = out.substr(pos);
      have_verdict = true;
      if (!WIFEXITED(status) || overflow) have_verdict = false;  // cut short: the text may be partial
    }
  }
  const std::string reading = result.detected_type.empty() ? "" : " while reading " + result.detected_type;
  if (timed_out) {
    char seconds[32];
    std::snprintf(seconds, sizeof seconds, "%g", max_seconds);
    return fail(std::string("timed out after ") + seconds + " s" + reading + " (max_seconds)");
  }
  if (overflow) return fail("the worker wrote more than max_text_bytes" + reading);
  if (WIFSIGNALED(status)) {
    std::string reason = "the parser crashed: worker killed by " + SignalName(WTERMSIG(status)) + reading;
    if (const std::string last = LastLine(err); !last.empty()) reason += " (" + last + ")";
    return fail(reason);
  }
  if (!have_verdict) {
    std::string reason = "the worker exited with status " + std::to_string(WEXITSTATUS(status)) +
                         " without a result" + reading;
    if (const std::string last = LastLine(err); !last.empty()) reason += " (" + last + ")";
    return fail(reason);
  }
  return result;
}

// ------------------------------------------------------------------------------------------------ batches

void ExtractAttachments(std::vector<Record>& records, const Extractor& extractor, ExtractCache* cache) {
  if (cache == nullptr) cache = &ExtractCache::Default();
  // Results depend on the limits as well as the bytes, so the cache key carries both.
  std::string limits_key;
  for (const std::string& arg : WorkerArgs("", extractor.limits())) limits_key += arg + " ";
  limits_key = ":" + HashHex(limits_key);
  // One job per distinct content hash; every attachment with that hash gets its result.
  std::unordered_map<std::string, std::vector<Attachment*>> by_hash;
  std::vector<std::string> order;
  for (Record& record : records) {
    for (Attachment& attachment : record.attachments) {
      if (!attachment.download_error.empty()) continue;
      if (!attachment.extract_error.empty() || !attachment.extracted_text.empty()) continue;
      if (attachment.content_hash.empty()) attachment.content_hash = HashHex(attachment.bytes);
      auto [it, inserted] = by_hash.try_emplace(attachment.content_hash);
      if (inserted) order.push_back(attachment.content_hash);
      it->second.push_back(&attachment);
    }
  }
  auto apply = [&](const std::string& hash, const ExtractResult& result) {
    for (Attachment* attachment : by_hash[hash]) {
      attachment->detected_type = result.detected_type;
      attachment->extracted_text = result.text;
      attachment->extract_error = result.error;
    }
  };
  std::vector<std::string> pending;
  for (const std::string& hash : order) {
    ExtractResult cached;
    if (cache->Lookup(hash + limits_key, cached)) {
      apply(hash, cached);
    } else {
      pending.push_back(hash);
    }
  }
  if (pending.empty()) return;

  std::vector<ExtractResult> results(pending.size());
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t i = next++; i < pending.size(); i = next++) {
      const Attachment* first = by_hash[pending[i]].front();
      results[i] = extractor.Extract(first->bytes, first->name);
    }
  };
  int workers = extractor.limits().parallel_workers;
  if (workers <= 0) workers = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  workers = std::min<int>(workers, static_cast<int>(pending.size()));
  std::vector<std::thread> threads;
  for (int t = 1; t < workers; ++t) threads.emplace_back(work);
  work();
  for (std::thread& thread : threads) thread.join();

  for (size_t i = 0; i < pending.size(); ++i) {
    // A timeout may be load on this machine rather than the file: not cached, so a later run retries.
    if (results[i].error.rfind("timed out", 0) != 0) cache->Insert(pending[i] + limits_key, results[i]);
    apply(pending[i], results[i]);
    if (!results[i].ok()) {
      const Attachment* first = by_hash[pending[i]].front();
      log::Warn("attachment not extracted", {{"attachment", first->id},
                                             {"name", first->name},
                                             {"type", results[i].detected_type},
                                             {"reason", results[i].error}});
    }
  }
}

Result<void> ExtractAttachments(std::vector<Record>& records, const ExtractLimits& limits,
                                ExtractCache* cache) {
  bool any = false;
  for (const Record& record : records) any = any || !record.attachments.empty();
  if (!any) return {};
  ASSIGN_OR_RETURN(Extractor extractor, Extractor::Create(limits));
  ExtractAttachments(records, extractor, cache);
  return {};
}

}  // namespace deskpipe::extract
