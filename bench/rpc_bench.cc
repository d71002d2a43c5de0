// Measures each StateService rpc against a null rpc (the health Check) on
// the same server and channel, in one run, so that the ratios hold on a
// noisy machine. The registry rpcs run over a SQLite store in a fresh
// temporary file (or --db), preloaded with 2000 states. Also measures how
// soon a watch sees a registration, and times the core's name check without
// any rpc.
//
// Usage: rpc_bench [--calls=3000] [--db=PATH]; prints Markdown tables.
#include <grpcpp/generic/generic_stub.h>
#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <mutex>
#include <thread>
#include <chrono>
#include <functional>
#include <future>
#include <iostream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_format.h"
#include "client/client.h"
#include "core/names.h"
#include "core/protobuf_log.h"
#include "grpc/health/v1/health.pb.h"
#include "service/server/server.h"
#include "service/storage/sqlite_state_store.h"

ABSL_FLAG(int, calls, 3000,
          "Calls per single-item row (batch rows make a tenth as many).");
ABSL_FLAG(std::string, db, "",
          "SQLite file for the registry rows; empty for a new file in a "
          "temporary directory. Writes are fsynced, so the disk matters.");

namespace mozuma::states {
namespace {

struct Row {
  std::string name;
  std::function<bool()> call;
  int calls_per_round = 0;
  std::vector<double> us = {};  // one sample per call
};

constexpr int kRounds = 10;

// Runs every row's calls in kRounds interleaved rounds, so that a change in
// the machine's load hits all rows alike instead of skewing one of them.
void MeasureInterleaved(std::vector<Row>& rows) {
  for (Row& row : rows) {
    for (int i = 0; i < 100; ++i) row.call();  // warm-up
  }
  for (int round = 0; round < kRounds; ++round) {
    for (Row& row : rows) {
      for (int i = 0; i < row.calls_per_round; ++i) {
        const auto start = std::chrono::steady_clock::now();
        if (!row.call()) {
          std::cerr << row.name << ": call failed" << std::endl;
          std::exit(1);
        }
        row.us.push_back(std::chrono::duration<double, std::micro>(
                             std::chrono::steady_clock::now() - start)
                             .count());
      }
    }
  }
  for (Row& row : rows) std::sort(row.us.begin(), row.us.end());
}

double Percentile(const std::vector<double>& sorted, double p) {
  return sorted[static_cast<std::size_t>(p * (sorted.size() - 1))];
}

v1::StateKey Key(int i) {
  v1::StateKey key;
  key.mutable_state_type()->set_backend("pytorch");
  key.mutable_state_type()->set_architecture("resnet" + std::to_string(i));
  key.mutable_state_type()->add_extra("cls1000");
  key.set_training_id("imagenet");
  return key;
}

int Main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  InstallProtobufLogFilter();  // as statesd does
  const int calls = absl::GetFlag(FLAGS_calls);

  std::string db = absl::GetFlag(FLAGS_db);
  std::string temp_dir;
  if (db.empty()) {
    std::string pattern = std::filesystem::temp_directory_path().string() +
                          "/rpc_bench-XXXXXX";
    if (mkdtemp(pattern.data()) == nullptr) return 1;
    temp_dir = pattern;
    db = temp_dir + "/states.db";
  }
  absl::StatusOr<std::unique_ptr<SqliteStateStore>> store =
      SqliteStateStore::Open(db);
  if (!store.ok()) {
    std::cerr << store.status() << std::endl;
    return 1;
  }
  ServerOptions options;
  options.listen = "127.0.0.1:0";
  absl::StatusOr<std::unique_ptr<Server>> server =
      Server::Start(options, *std::move(store));
  if (!server.ok()) {
    std::cerr << server.status() << std::endl;
    return 1;
  }
  auto channel = grpc::CreateChannel((*server)->address(),
                                     grpc::InsecureChannelCredentials());
  Client client(v1::StateService::NewStub(channel), ClientOptions{});
  grpc::GenericStub generic(channel);

  // Every row but the last goes through the same generic client path with
  // pre-serialised bytes, so that differences are the server's work.
  auto raw_call = [&](const std::string& method, const std::string& bytes) {
    return [&generic, method, bytes] {
      grpc::ClientContext context;
      grpc::Slice slice(bytes);
      grpc::ByteBuffer request(&slice, 1), response;
      std::promise<bool> done;
      generic.UnaryCall(
          &context, method, grpc::StubOptions(), &request, &response,
          [&](grpc::Status status) { done.set_value(status.ok()); });
      return done.get_future().get();
    };
  };
  const std::string service = "/mozuma.states.v1.StateService/";

  v1::ParseStateKeyRequest parse;
  parse.set_name("pytorch.resnet18.cls1000.imagenet");
  v1::ValidateStateKeysRequest one_key, many_keys;
  *one_key.add_state_keys() = Key(18);
  for (int i = 0; i < 1000; ++i) *many_keys.add_state_keys() = Key(i);
  v1::ValidateStateTypesRequest bad_utf8;
  bad_utf8.add_state_types()->set_backend("\xC0\xAF");
  bad_utf8.mutable_state_types(0)->set_architecture("resnet18");
  v1::CheckCompatibilityRequest compat;
  *compat.mutable_state_type() = Key(18).state_type();
  for (int i = 0; i < 1000; ++i) *compat.add_candidates() = Key(i).state_type();

  // The registry: 1000 states compatible with pytorch/resnet18 and 1000
  // others.
  auto registration = [](const std::string& architecture,
                         const std::string& training_id) {
    v1::RegisterStateRequest request;
    v1::State* state = request.mutable_state();
    *state->mutable_state_key()->mutable_state_type() = Key(18).state_type();
    state->mutable_state_key()->mutable_state_type()->set_architecture(
        architecture);
    state->mutable_state_key()->set_training_id(training_id);
    state->set_uri("file:///srv/states/pytorch." + architecture +
                   ".cls1000." + training_id + ".pt");
    state->set_sha256(std::string(64, 'a'));
    state->set_size_bytes(46830571);
    return request;
  };
  v1::BatchGetStatesRequest batch_get;
  for (int i = 0; i < 1000; ++i) {
    for (const char* architecture : {"resnet18", "resnet180"}) {
      const v1::RegisterStateRequest request =
          registration(architecture, "t" + std::to_string(i));
      if (!client.RegisterState(request).ok()) {
        std::cerr << "preloading the registry failed" << std::endl;
        return 1;
      }
      if (i % 10 == 0 && batch_get.state_keys_size() < 100) {
        *batch_get.add_state_keys() = request.state().state_key();
      }
    }
  }
  const v1::RegisterStateRequest retry = registration("resnet18", "t500");
  v1::GetStateRequest get;
  *get.mutable_state_key() = retry.state().state_key();
  v1::ListStatesRequest list;
  *list.mutable_state_type() = Key(18).state_type();
  list.set_page_size(100);
  int fresh = 0;
  auto register_new = [&] {
    const v1::RegisterStateRequest request =
        registration("resnet50", "n" + std::to_string(fresh++));
    return client.RegisterState(request).ok();
  };

  const int small = std::max(1, calls / kRounds);
  const int large = std::max(1, calls / kRounds / 10);
  std::vector<Row> rows = {
      {"null rpc (grpc.health.v1.Health/Check)",
       raw_call("/grpc.health.v1.Health/Check",
                grpc::health::v1::HealthCheckRequest().SerializeAsString()),
       small},
      {"ParseStateKey",
       raw_call(service + "ParseStateKey", parse.SerializeAsString()), small},
      {"ValidateStateKeys, 1 key",
       raw_call(service + "ValidateStateKeys", one_key.SerializeAsString()),
       small},
      {"ValidateStateTypes, 1 invalid-UTF-8 item",
       raw_call(service + "ValidateStateTypes", bad_utf8.SerializeAsString()),
       small},
      {"ValidateStateKeys, 1000 keys",
       raw_call(service + "ValidateStateKeys", many_keys.SerializeAsString()),
       large},
      {"CheckCompatibility, 1000 candidates",
       raw_call(service + "CheckCompatibility", compat.SerializeAsString()),
       large},
      {"ParseStateKey through mozuma::states::Client",
       [&] { return client.ParseStateKey(parse.name()).ok(); }, small},
      {"GetState (SQLite, 2000 states)",
       raw_call(service + "GetState", get.SerializeAsString()), small},
      {"BatchGetStates, 100 keys",
       raw_call(service + "BatchGetStates", batch_get.SerializeAsString()),
       large},
      {"ListStates, a page of 100 compatible states",
       raw_call(service + "ListStates", list.SerializeAsString()), large},
      {"RegisterState, identical retry (no write)",
       raw_call(service + "RegisterState", retry.SerializeAsString()), small},
      {"RegisterState, new key (durable write, fsync)", register_new, large},
  };
  MeasureInterleaved(rows);

  const double null_median = Percentile(rows[0].us, 0.5);
  std::cout << "| rpc | calls | median µs | p90 µs | median / null |\n"
               "|---|---|---|---|---|\n";
  for (const Row& row : rows) {
    std::cout << absl::StrFormat("| %s | %d | %.1f | %.1f | %.2f |\n", row.name,
                                 row.us.size(), Percentile(row.us, 0.5),
                                 Percentile(row.us, 0.9),
                                 Percentile(row.us, 0.5) / null_median);
  }

  // How soon a watch sees a registration: from the start of RegisterState
  // to the event's arrival, against the RegisterState call alone.
  {
    auto stub = v1::StateService::NewStub(channel);
    grpc::ClientContext watch_context;
    v1::WatchStatesRequest watch_request;
    *watch_request.mutable_state_type() = Key(18).state_type();
    watch_request.mutable_state_type()->set_architecture("resnet101");
    std::unique_ptr<grpc::ClientReader<v1::WatchStatesResponse>> reader =
        stub->WatchStates(&watch_context, watch_request);
    std::mutex mutex;
    std::map<std::string, std::chrono::steady_clock::time_point> seen;
    std::thread watcher([&] {
      v1::WatchStatesResponse message;
      while (reader->Read(&message)) {
        const auto now = std::chrono::steady_clock::now();
        std::lock_guard<std::mutex> lock(mutex);
        for (const v1::StateEvent& event : message.events()) {
          seen[event.state().state_key().training_id()] = now;
        }
      }
    });
    std::vector<double> call_us, event_us;
    for (int i = 0; i < std::max(20, calls / 30); ++i) {
      const std::string id = "w" + std::to_string(i);
      const auto start = std::chrono::steady_clock::now();
      if (!client.RegisterState(registration("resnet101", id)).ok()) return 1;
      call_us.push_back(std::chrono::duration<double, std::micro>(
                            std::chrono::steady_clock::now() - start)
                            .count());
      for (int wait = 0; wait < 5000; ++wait) {
        {
          std::lock_guard<std::mutex> lock(mutex);
          auto it = seen.find(id);
          if (it != seen.end()) {
            event_us.push_back(
                std::chrono::duration<double, std::micro>(it->second - start)
                    .count());
            break;
          }
        }
        std::this_thread::sleep_for(std::chrono::microseconds(20));
      }
    }
    watch_context.TryCancel();
    watcher.join();
    std::sort(call_us.begin(), call_us.end());
    std::sort(event_us.begin(), event_us.end());
    std::cout << "\n| register, then watch | samples | median µs | p90 µs "
                 "| median / RegisterState |\n|---|---|---|---|---|\n";
    std::cout << absl::StrFormat(
        "| RegisterState returns | %d | %.1f | %.1f | 1.00 |\n",
        call_us.size(), Percentile(call_us, 0.5), Percentile(call_us, 0.9));
    if (!event_us.empty()) {
      std::cout << absl::StrFormat(
          "| the watch receives the event | %d | %.1f | %.1f | %.2f |\n",
          event_us.size(), Percentile(event_us, 0.5),
          Percentile(event_us, 0.9),
          Percentile(event_us, 0.5) / Percentile(call_us, 0.5));
    }
  }

  // The core alone: how long one name check takes.
  const NameRules rules;
  const std::pair<const char*, std::string> names[] = {
      {"ASCII, 8 chars", "resnet18"},
      {"CJK, 4 chars", "模型模型"},
      {"ASCII, 255 chars", std::string(255, 'a')},
  };
  std::cout << "\n| core CheckName | ns per name |\n|---|---|\n";
  for (const auto& [label, name] : names) {
    constexpr int kRepeats = 200000;
    std::size_t sink = 0;
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < kRepeats; ++i) sink += CheckName(name, rules).size();
    const double ns = std::chrono::duration<double, std::nano>(
                          std::chrono::steady_clock::now() - start)
                          .count() /
                      kRepeats;
    std::cout << absl::StrFormat("| %s | %.0f |\n", label, ns + sink * 0.0);
  }
  (*server)->Drain(absl::ZeroDuration());
  server->reset();
  if (!temp_dir.empty()) std::filesystem::remove_all(temp_dir);
  return 0;
}

}  // namespace
}  // namespace mozuma::states

int main(int argc, char** argv) { return mozuma::states::Main(argc, argv); }
