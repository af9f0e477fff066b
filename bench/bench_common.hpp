// Shared by bench-driver and bench-raw-worker: a plain gRPC channel to the engine named by
// HATCHET_CLIENT_*, the auth metadata, and /proc readings of a process.
#pragma once
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include <grpcpp/grpcpp.h>
#include <unistd.h>

#include "hatchet/config.hpp"
#include "hatchet/errors.hpp"

namespace bench {

inline hatchet::config config_or_die(const char* prog) {
  auto cfg = hatchet::config::from_env();
  if (!cfg) {
    std::fprintf(stderr, "%s: %s\n", prog, hatchet::describe(cfg.error()).c_str());
    std::exit(2);
  }
  return std::move(*cfg);
}

inline std::shared_ptr<grpc::Channel> make_channel(const hatchet::config& cfg) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(64 * 1024 * 1024);
  args.SetMaxSendMessageSize(64 * 1024 * 1024);
  return grpc::CreateCustomChannel(cfg.host_port, grpc::InsecureChannelCredentials(), args);
}

inline void authorize(grpc::ClientContext& ctx, const hatchet::config& cfg) {
  ctx.AddMetadata("authorization", "Bearer " + cfg.token);
}

using clock = std::chrono::steady_clock;

inline double seconds_since(clock::time_point t0) {
  return std::chrono::duration<double>(clock::now() - t0).count();
}

/// utime + stime of a process, in microseconds (clock-tick resolution, usually 10 ms).
inline double cpu_us(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto close = s.rfind(')');
  if (close == std::string::npos)
    return -1;
  std::istringstream rest(s.substr(close + 2));
  std::string field;
  unsigned long long utime = 0, stime = 0;
  // fields after the name start at 3 (state); utime is 14, stime is 15
  for (int i = 3; i <= 15 && rest >> field; ++i) {
    if (i == 14)
      utime = std::stoull(field);
    if (i == 15)
      stime = std::stoull(field);
  }
  return double(utime + stime) * 1e6 / double(sysconf(_SC_CLK_TCK));
}

/// A "Key:   value kB" line of /proc/<pid>/status, in KiB (or the value for Threads).
inline long status_value(int pid, const std::string& key) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.compare(0, key.size() + 1, key + ":") == 0)
      return std::stol(line.substr(key.size() + 1));
  }
  return -1;
}

} // namespace bench
