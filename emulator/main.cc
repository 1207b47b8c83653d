// files-emulator: a stateful Files.com REST API v1 on loopback.
//   files-emulator [--listen HOST:PORT] [--api-key KEY] [--empty] [--faults FILE]
//                  [--storage-dir DIR] [--part-size BYTES] [--download-url-ttl SECONDS]
//                  [--upload-url-ttl SECONDS] [--threads N] [--upload-idle-ttl SECONDS]
//                  [--control-token-file FILE] [--no-control]
//                  [--rate-limit REQ_PER_S [--rate-limit-burst N]]
//                  [--tls-cert FILE --tls-key FILE | --tls-self-signed CA_OUT_FILE]
// Prints one JSON line with the address when ready; exits on SIGTERM/SIGINT.
#include <chrono>
#include <sys/resource.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "emulator/emulator.h"
#include "emulator/tls.h"

namespace {

bool ReadFile(const std::string& path, std::string* text) {
  std::ifstream in(path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  *text = buffer.str();
  return static_cast<bool>(in) && !text->empty();
}

int Usage(const char* error) {
  if (error != nullptr) std::fprintf(stderr, "files-emulator: %s\n", error);
  std::fputs(
      "usage: files-emulator [--listen HOST:PORT] [--api-key KEY] [--empty] [--faults FILE]\n"
      "  --listen   address to serve on (default 127.0.0.1:8080; port 0 = any)\n"
      "  --api-key  the X-FilesAPI-Key to accept (default $FILES_EMULATOR_API_KEY or\n"
      "             \"emulatorkey0001\")\n"
      "  --empty    start without the demo site\n"
      "  --faults   JSON file with a list of fault rules to load at start\n"
      "  --storage-dir DIR        keep files under DIR (default: in memory)\n"
      "  --part-size BYTES        upload part size offered by begin_upload (default 5242880)\n"
      "  --download-url-ttl SECS  lifetime of download URLs (default 60)\n"
      "  --upload-url-ttl SECS    lifetime of part upload URLs (default 900)\n"
      "  --threads N              server worker threads (default 64)\n"
      "  --upload-idle-ttl SECS   drop an upload session (and its parts) idle this long\n"
      "                           (default 600)\n"
      "  --control-token-file FILE  also accept this token (header X-Emulator-Control-Token)\n"
      "                           on /__emulator/* control endpoints; the API key always works\n"
      "  --no-control             turn the control endpoints off (404)\n"
      "  --rate-limit REQ_PER_S   per-key API request rate, as Files.com enforces it: over\n"
      "                           it, 429 rate-limited/too-many-requests + Retry-After\n"
      "                           (default off; presigned URLs are not counted)\n"
      "  --rate-limit-burst N     requests a key may make at once (default REQ_PER_S)\n"
      "  --tls-cert FILE --tls-key FILE  serve HTTPS with this PEM certificate and key;\n"
      "                           upload and download URLs are https:// too\n"
      "  --tls-self-signed CA_OUT_FILE  serve HTTPS with a throwaway CA and certificate\n"
      "                           (127.0.0.1, ::1, localhost) made at start; the CA PEM is\n"
      "                           written to CA_OUT_FILE for clients to trust\n",
      error != nullptr ? stderr : stdout);
  return error != nullptr ? 2 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  filesgw::emulator::EmulatorOptions options;
  options.port = 8080;
  const char* env_key = std::getenv("FILES_EMULATOR_API_KEY");
  options.api_key = env_key != nullptr && *env_key != '\0' ? env_key : "emulatorkey0001";
  std::string faults_file;
  std::string ca_out_file;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    std::string value;
    size_t eq = arg.find('=');
    if (eq != std::string::npos) {
      value = arg.substr(eq + 1);
      arg.resize(eq);
    } else if ((arg == "--listen" || arg == "--api-key" || arg == "--faults" ||
                arg == "--storage-dir" || arg == "--part-size" || arg == "--download-url-ttl" ||
                arg == "--upload-url-ttl" || arg == "--threads" || arg == "--upload-idle-ttl" ||
                arg == "--control-token-file" || arg == "--tls-cert" || arg == "--tls-key" ||
                arg == "--tls-self-signed" || arg == "--rate-limit" ||
                arg == "--rate-limit-burst") &&
               i + 1 < argc) {
      value = argv[++i];
    }
    if (arg == "--help" || arg == "-h") return Usage(nullptr);
    if (arg == "--empty") {
      options.demo_site = false;
    } else if (arg == "--listen") {
      size_t colon = value.rfind(':');
      if (colon == std::string::npos || !absl::SimpleAtoi(value.substr(colon + 1), &options.port)) {
        return Usage("--listen wants HOST:PORT");
      }
      options.listen_host = value.substr(0, colon);
    } else if (arg == "--api-key") {
      if (value.empty()) return Usage("--api-key wants a value");
      options.api_key = value;
    } else if (arg == "--faults") {
      if (value.empty()) return Usage("--faults wants a file");
      faults_file = value;
    } else if (arg == "--storage-dir") {
      if (value.empty()) return Usage("--storage-dir wants a folder");
      options.storage_dir = value;
    } else if (arg == "--part-size") {
      if (!absl::SimpleAtoi(value, &options.part_size) || options.part_size < 1) {
        return Usage("--part-size wants a positive number of bytes");
      }
    } else if (arg == "--download-url-ttl" || arg == "--upload-url-ttl") {
      int64_t seconds = 0;
      if (!absl::SimpleAtoi(value, &seconds) || seconds < 0) {
        return Usage((arg + " wants a number of seconds").c_str());
      }
      (arg == "--download-url-ttl" ? options.download_url_ttl : options.upload_url_ttl) =
          absl::Seconds(seconds);
    } else if (arg == "--upload-idle-ttl") {
      int64_t seconds = 0;
      if (!absl::SimpleAtoi(value, &seconds) || seconds < 1) {
        return Usage("--upload-idle-ttl wants a positive number of seconds");
      }
      options.upload_idle_ttl = absl::Seconds(seconds);
    } else if (arg == "--control-token-file") {
      std::ifstream in(value);
      std::stringstream text;
      text << in.rdbuf();
      if (value.empty() || !in) return Usage("--control-token-file wants a readable file");
      options.control_token = std::string(absl::StripAsciiWhitespace(text.str()));
      if (options.control_token.empty()) return Usage("--control-token-file is empty");
    } else if (arg == "--tls-cert" || arg == "--tls-key") {
      std::string text;
      if (value.empty() || !ReadFile(value, &text)) {
        return Usage((arg + " wants a readable PEM file").c_str());
      }
      (arg == "--tls-cert" ? options.tls_cert_pem : options.tls_key_pem) = text;
    } else if (arg == "--tls-self-signed") {
      if (value.empty()) return Usage("--tls-self-signed wants a file to write the CA to");
      ca_out_file = value;
    } else if (arg == "--rate-limit" || arg == "--rate-limit-burst") {
      double v = 0;
      if (!absl::SimpleAtod(value, &v) || !(v > 0) || v > 1e9) {
        return Usage((arg + " wants a positive number").c_str());
      }
      (arg == "--rate-limit" ? options.rate_limit_per_second : options.rate_limit_burst) = v;
    } else if (arg == "--no-control") {
      options.control_endpoints = false;
    } else if (arg == "--threads") {
      if (!absl::SimpleAtoi(value, &options.threads) || options.threads < 1) {
        return Usage("--threads wants a positive number");
      }
    } else {
      return Usage(("unknown flag " + arg).c_str());
    }
  }

  if (options.rate_limit_burst > 0 && options.rate_limit_per_second <= 0) {
    return Usage("--rate-limit-burst needs --rate-limit");
  }
  if (!ca_out_file.empty()) {
    if (!options.tls_cert_pem.empty() || !options.tls_key_pem.empty()) {
      return Usage("--tls-self-signed and --tls-cert/--tls-key exclude each other");
    }
    auto tls = filesgw::emulator::MakeSelfSignedTls();
    if (!tls.ok()) {
      std::fprintf(stderr, "files-emulator: %s\n", std::string(tls.status().message()).c_str());
      return 1;
    }
    std::ofstream out(ca_out_file, std::ios::trunc);
    out << tls->ca_pem;
    out.close();
    if (!out) {
      std::fprintf(stderr, "files-emulator: cannot write %s\n", ca_out_file.c_str());
      return 1;
    }
    options.tls_cert_pem = tls->cert_pem;
    options.tls_key_pem = tls->key_pem;
  } else if (options.tls_cert_pem.empty() != options.tls_key_pem.empty()) {
    return Usage("--tls-cert and --tls-key go together");
  }

  // Signals are taken by sigwait below; block them before any thread starts.
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);
  std::signal(SIGPIPE, SIG_IGN);  // dropped connections must not kill us
  // Every live download URL of a file on disk holds a descriptor: allow many.
  rlimit files{};
  if (getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
    files.rlim_cur = files.rlim_max;
    setrlimit(RLIMIT_NOFILE, &files);
  }

  filesgw::emulator::Emulator emulator(options);
  if (!faults_file.empty()) {
    std::ifstream in(faults_file);
    std::stringstream text;
    text << in.rdbuf();
    if (!in) {
      std::fprintf(stderr, "files-emulator: cannot read %s\n", faults_file.c_str());
      return 1;
    }
    auto rules = filesgw::emulator::ParseFaultRules(text.str());
    if (!rules.ok()) {
      std::fprintf(stderr, "files-emulator: %s: %s\n", faults_file.c_str(),
                   std::string(rules.status().message()).c_str());
      return 1;
    }
    for (auto& rule : *rules) emulator.AddFault(std::move(rule));
  }
  if (absl::Status s = emulator.Start(); !s.ok()) {
    std::fprintf(stderr, "files-emulator: %s\n", std::string(s.message()).c_str());
    return 1;
  }
  std::printf(
      "{\"listening\":\"%s:%d\",\"base_url\":\"%s\",\"demo_site\":%s,\"storage\":\"%s\"}\n",
      options.listen_host.c_str(), emulator.port(), emulator.base_url().c_str(),
      options.demo_site ? "true" : "false",
      options.storage_dir.empty() ? "memory" : "disk");
  std::fflush(stdout);
  int sig = 0;
  sigwait(&stop, &sig);
  // The HTTP server only notices a stop between requests, so an idle keep-alive
  // connection from a client would hold it for the whole keep-alive timeout.
  // Give in-flight requests a moment, then leave: the kernel closes the rest.
  std::thread stopper([&emulator] { emulator.Stop(); std::_Exit(0); });
  stopper.detach();
  std::this_thread::sleep_for(std::chrono::seconds(2));
  std::_Exit(0);
}
