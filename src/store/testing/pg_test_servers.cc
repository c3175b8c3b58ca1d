#include "store/testing/pg_test_servers.h"

#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "store/pg_connection.h"

extern char** environ;

namespace deskpipe::testing {
namespace {

namespace fs = std::filesystem;

#ifndef DESKPIPE_SOURCE_DIR
#error "DESKPIPE_SOURCE_DIR must name the source tree (for tools/pglite-server)"
#endif
constexpr char kPgBinDir[] = "/usr/lib/postgresql/15/bin";

std::string MakeTempDir(const char* prefix) {
  std::string pattern = (fs::temp_directory_path() / (std::string(prefix) + "XXXXXX")).string();
  std::vector<char> buffer(pattern.begin(), pattern.end());
  buffer.push_back('\0');
  const char* made = mkdtemp(buffer.data());
  return made ? std::string(made) : std::string();
}

// Runs argv to completion (stdout/stderr appended to `log`); its exit status.
int Run(const std::vector<std::string>& args, const std::string& log) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  std::vector<char*> argv;
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid = 0;
  const int rc = posix_spawnp(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) return -1;
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// argv prefixed to run as the postgres user when we are root (initdb and postgres refuse root).
std::vector<std::string> AsPostgres(std::vector<std::string> args) {
  if (geteuid() != 0) return args;
  args.insert(args.begin(), {"runuser", "-u", "postgres", "--"});
  return args;
}

struct PostgresServer {
  std::string dir;
  std::string url;
  ~PostgresServer() {
    if (dir.empty()) return;
    Run(AsPostgres({std::string(kPgBinDir) + "/pg_ctl", "-D", dir + "/data", "-m", "immediate", "-w", "stop"}),
        dir + "/ctl.log");
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
};

struct PgliteServer {
  std::string dir;
  std::string url;
  pid_t pid = -1;
  int stdin_fd = -1;
  ~PgliteServer() {
    if (stdin_fd >= 0) close(stdin_fd);  // the server exits when its stdin closes
    if (pid > 0) {
      kill(pid, SIGTERM);
      int status = 0;
      waitpid(pid, &status, 0);
    }
    std::error_code ec;
    if (!dir.empty()) fs::remove_all(dir, ec);
  }
};

std::unique_ptr<PostgresServer>& PostgresInstance() {
  static std::unique_ptr<PostgresServer> instance;
  return instance;
}
std::unique_ptr<PgliteServer>& PgliteInstance() {
  static std::unique_ptr<PgliteServer> instance;
  return instance;
}

void RegisterAtExit() {
  static bool registered = false;
  if (!registered) {
    registered = true;
    std::atexit(StopTestServers);
  }
}

Result<std::unique_ptr<PostgresServer>> StartPostgres() {
  auto server = std::make_unique<PostgresServer>();
  server->dir = MakeTempDir("deskpipe-pg-");
  if (server->dir.empty()) return Error(Internal("cannot create a temp dir for the PostgreSQL test server"));
  if (geteuid() == 0) {
    struct passwd* pw = getpwnam("postgres");
    if (pw == nullptr) return Error(Internal("running as root but there is no postgres user to run initdb"));
    if (chown(server->dir.c_str(), pw->pw_uid, pw->pw_gid) != 0) {
      return Error(Internal("cannot hand " + server->dir + " to the postgres user"));
    }
  }
  chmod(server->dir.c_str(), 0777);
  const std::string log = server->dir + "/setup.log";
  // The log file must be writable by the postgres user too.
  std::ofstream(log).close();
  chmod(log.c_str(), 0666);
  if (Run(AsPostgres({std::string(kPgBinDir) + "/initdb", "-D", server->dir + "/data", "-U", "postgres",
                      "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"}),
          log) != 0) {
    return Error(Internal("initdb failed: " + ReadFile(log)));
  }
  if (Run(AsPostgres({std::string(kPgBinDir) + "/pg_ctl", "-D", server->dir + "/data", "-w", "-t", "120", "-l",
                      server->dir + "/server.log", "-o",
                      "-k " + server->dir + " -c listen_addresses='' -p 5432 -c fsync=off "
                      "-c synchronous_commit=off -c full_page_writes=off",
                      "start"}),
          log) != 0) {
    std::string server_log = ReadFile(server->dir + "/server.log");
    return Error(Internal("pg_ctl start failed: " + ReadFile(log) + server_log));
  }
  server->url = "postgresql://postgres@/postgres?host=" + server->dir + "&port=5432";
  return server;
}

Result<std::unique_ptr<PgliteServer>> StartPglite() {
  const std::string tool = std::string(DESKPIPE_SOURCE_DIR) + "/tools/pglite-server";
  if (!fs::exists(tool + "/node_modules/@electric-sql/pglite")) {
    return Error(Internal("PGlite is not installed: run `npm ci --prefix " + tool + "` (scripts/setup does)"));
  }
  auto server = std::make_unique<PgliteServer>();
  server->dir = MakeTempDir("deskpipe-pglite-");
  if (server->dir.empty()) return Error(Internal("cannot create a temp dir for the PGlite test server"));
  int in_pipe[2];
  int out_pipe[2];
  if (pipe(in_pipe) != 0 || pipe(out_pipe) != 0) return Error(Internal("pipe() failed"));
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in_pipe[0], 0);
  posix_spawn_file_actions_adddup2(&actions, out_pipe[1], 1);
  posix_spawn_file_actions_addclose(&actions, in_pipe[1]);
  posix_spawn_file_actions_addclose(&actions, out_pipe[0]);
  const std::string script = tool + "/server.js";
  std::vector<std::string> args = {"node", script, "--socket-dir", server->dir};
  std::vector<char*> argv;
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  const int rc = posix_spawnp(&server->pid, "node", &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(in_pipe[0]);
  close(out_pipe[1]);
  server->stdin_fd = in_pipe[1];
  fcntl(server->stdin_fd, F_SETFD, FD_CLOEXEC);
  if (rc != 0) {
    close(out_pipe[0]);
    server->pid = -1;
    return Error(Internal("cannot start node for PGlite"));
  }
  // Wait for "ready …" (PGlite loads a WASM PostgreSQL: seconds on a busy machine).
  std::string line;
  char c = 0;
  while (read(out_pipe[0], &c, 1) == 1 && c != '\n') line.push_back(c);
  close(out_pipe[0]);
  if (line.rfind("ready ", 0) != 0) return Error(Internal("PGlite server did not start: '" + line + "'"));
  // pglite-socket asks for a password and accepts any.
  server->url = "postgresql://postgres:pglite@/postgres?host=" + server->dir + "&port=5432&sslmode=disable";
  return server;
}

}  // namespace

Result<std::string> PostgresServerUrl() {
  auto& instance = PostgresInstance();
  if (!instance) {
    ASSIGN_OR_RETURN(instance, StartPostgres());
    RegisterAtExit();
  }
  return instance->url;
}

Result<std::string> PgliteServerUrl() {
  auto& instance = PgliteInstance();
  if (!instance) {
    ASSIGN_OR_RETURN(instance, StartPglite());
    RegisterAtExit();
  }
  return instance->url;
}

Result<void> RestartPostgresServer() {
  auto& server = PostgresInstance();
  if (!server) return Error(Internal("no PostgreSQL test server was started"));
  const std::string log = server->dir + "/setup.log";
  if (Run(AsPostgres({std::string(kPgBinDir) + "/pg_ctl", "-D", server->dir + "/data", "-m", "fast", "-w", "-t",
                      "120", "-l", server->dir + "/server.log", "restart"}),
          log) != 0) {
    return Error(Internal("pg_ctl restart failed: " + ReadFile(log)));
  }
  return {};
}

Result<void> ResetSchema(const std::string& url) {
  ASSIGN_OR_RETURN(auto conn, pg::PgConnection::Connect(url));
  return conn->ExecScript(
      "SET client_min_messages = warning; DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public;");
}

void StopTestServers() {
  PgliteInstance().reset();
  PostgresInstance().reset();
}

}  // namespace deskpipe::testing
