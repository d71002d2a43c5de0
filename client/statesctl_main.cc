// statesctl: a command line for mozuma.states.v1.StateService.
//
// Exit codes, for scripts:
//   0  the answer is yes: every name valid, every candidate compatible, the
//      name parsed
//   1  the answer is no: some name invalid, some candidate incompatible, the
//      name does not parse (details on stdout, or stderr for parse)
//   2  usage error: unknown command, wrong number of arguments, bad flag
//   3  no answer: the server could not be reached or failed the call
#include <google/protobuf/util/json_util.h>

#include <iostream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "client/client.h"
#include "core/errors.h"
#include "core/protobuf_log.h"
#include "core/state_names.h"
#include "google/protobuf/struct.pb.h"

ABSL_FLAG(std::string, server, "127.0.0.1:50051",
          "Address of statesd: host:port, dns:///host:port or unix:/path.");
ABSL_FLAG(bool, json, false,
          "Print results as JSON (one document on stdout; errors too) instead "
          "of text.");
ABSL_FLAG(absl::Duration, timeout, absl::Seconds(10),
          "Deadline of each call to the server.");
ABSL_FLAG(bool, type, false,
          "validate: read each NAME as a state type "
          "(backend.architecture[.extra...]) instead of a state key.");

namespace mozuma::states {
namespace {

enum ExitCode { kYes = 0, kNo = 1, kUsage = 2, kNoAnswer = 3 };

constexpr char kUsageText[] =
    "Talks to statesd, the MoZuMa state identity service.\n"
    "\n"
    "Usage: statesctl [--server=HOST:PORT] [--json] COMMAND ARGS...\n"
    "\n"
    "Commands:\n"
    "  validate NAME...        Checks dotted state keys, such as\n"
    "                          pytorch.resnet18.cls1000.imagenet, against\n"
    "                          MoZuMa's name rules (--type: state types, such\n"
    "                          as pytorch.resnet18.cls1000).\n"
    "  compat TYPE CANDIDATE... Tells whether states of each CANDIDATE type\n"
    "                          can be loaded into a model of state type TYPE:\n"
    "                          EXACT, COMPATIBLE (only extra differs) or\n"
    "                          INCOMPATIBLE.\n"
    "  parse NAME              Splits a dotted state key into its fields.\n"
    "\n"
    "Exit codes: 0 yes (all valid / all compatible / parsed), 1 no, 2 usage\n"
    "error, 3 no answer (server unreachable or call failed).\n"
    "\n"
    "Examples:\n"
    "  statesctl validate pytorch.resnet18.cls1000.imagenet\n"
    "  statesctl compat pytorch.resnet18 pytorch.resnet18.cls1000 "
    "pytorch.resnet50\n"
    "  statesctl --json parse pytorch.clip-image-rn50.clip";

// JSON output keeps the proto's field order, so that it reads the same
// from one run to the next.

// Returns `message` as JSON, proto field names kept.
std::string Json(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  options.always_print_primitive_fields = true;
  std::string json;
  (void)google::protobuf::util::MessageToJsonString(message, &json, options);
  return json;
}

// Returns `text` as a JSON string. JSON output must be UTF-8 and argv need
// not be: invalid bytes are written as \xHH.
std::string JsonString(absl::string_view text) {
  google::protobuf::Value value;
  value.set_string_value(PrintableValue(text));
  std::string json;
  (void)google::protobuf::util::MessageToJsonString(value, &json);
  return json;
}

// Returns JSON object `object` with `"name": value` inserted first.
std::string WithFieldFirst(absl::string_view name, absl::string_view value,
                           absl::string_view object) {
  std::string out = absl::StrCat("{", JsonString(name), ":", value);
  if (object.size() > 2)
    absl::StrAppend(&out, ",", object.substr(1));
  else
    out += "}";
  return out;
}

// Prints a failed call and returns its exit code: kNo when the server
// rejected what we sent as invalid, kNoAnswer otherwise.
int ReportError(const absl::Status& status, bool json) {
  const std::optional<google::rpc::ErrorInfo> info = GetErrorInfo(status);
  const std::optional<google::rpc::BadRequest> bad = GetBadRequest(status);
  if (json) {
    std::string error = absl::StrCat(
        "{\"code\":", JsonString(absl::StatusCodeToString(status.code())),
        ",\"message\":", JsonString(status.message()));
    if (info.has_value())
      absl::StrAppend(&error, ",\"error_info\":", Json(*info));
    if (bad.has_value())
      absl::StrAppend(&error, ",\"bad_request\":", Json(*bad));
    std::cout << "{\"error\":" << error << "}}" << std::endl;
  } else {
    std::cerr << "statesctl: " << absl::StatusCodeToString(status.code());
    if (info.has_value()) std::cerr << " (" << info->reason() << ")";
    // A BadRequest lists every violation, which the message only sums up.
    if (!bad.has_value()) std::cerr << ": " << status.message();
    std::cerr << std::endl;
    if (bad.has_value()) {
      for (const auto& violation : bad->field_violations()) {
        std::cerr << "  " << violation.field() << ": "
                  << violation.description() << std::endl;
      }
    }
  }
  return status.code() == absl::StatusCode::kInvalidArgument ? kNo : kNoAnswer;
}

// The answer for an argument that could not even be split into fields:
// the violations of `status` (from the core's splitter) as a result.
v1::ValidationResult ResultFromSplitError(const absl::Status& status) {
  v1::ValidationResult result;
  const std::optional<google::rpc::ErrorInfo> info = GetErrorInfo(status);
  const std::optional<google::rpc::BadRequest> bad = GetBadRequest(status);
  if (!bad.has_value()) return result;
  for (const auto& field_violation : bad->field_violations()) {
    v1::Violation& violation = *result.add_violations();
    violation.set_field(field_violation.field());
    violation.set_description(field_violation.description());
    v1::ViolationReason reason = v1::VIOLATION_REASON_UNSPECIFIED;
    if (info.has_value() &&
        info->metadata().contains(field_violation.field())) {
      v1::ViolationReason_Parse(
          "VIOLATION_REASON_" + info->metadata().at(field_violation.field()),
          &reason);
    }
    violation.set_reason(reason);
  }
  return result;
}

int Validate(const Client& client, const std::vector<std::string>& names,
             bool as_type, bool json) {
  // Split locally, then ask the server about everything that split; keep
  // the answers in argument order.
  std::vector<v1::ValidationResult> results(names.size());
  std::vector<std::size_t> sent;
  v1::ValidateStateTypesRequest types;
  v1::ValidateStateKeysRequest keys;
  for (std::size_t i = 0; i < names.size(); ++i) {
    absl::Status split;
    if (as_type) {
      absl::StatusOr<v1::StateType> type = SplitStateTypeName(names[i]);
      split = type.status();
      if (type.ok()) *types.add_state_types() = *std::move(type);
    } else {
      absl::StatusOr<v1::StateKey> key = SplitStateKeyName(names[i]);
      split = key.status();
      if (key.ok()) *keys.add_state_keys() = *std::move(key);
    }
    if (split.ok()) {
      sent.push_back(i);
    } else {
      results[i] = ResultFromSplitError(split);
    }
  }
  if (!sent.empty()) {
    google::protobuf::RepeatedPtrField<v1::ValidationResult> answers;
    if (as_type) {
      absl::StatusOr<v1::ValidateStateTypesResponse> response =
          client.ValidateStateTypes(types);
      if (!response.ok()) return ReportError(response.status(), json);
      answers = std::move(*response->mutable_results());
    } else {
      absl::StatusOr<v1::ValidateStateKeysResponse> response =
          client.ValidateStateKeys(keys);
      if (!response.ok()) return ReportError(response.status(), json);
      answers = std::move(*response->mutable_results());
    }
    if (static_cast<std::size_t>(answers.size()) != sent.size()) {
      return ReportError(
          absl::InternalError("the server answered " +
                              std::to_string(answers.size()) + " results for " +
                              std::to_string(sent.size()) + " items"),
          json);
    }
    for (std::size_t j = 0; j < sent.size(); ++j) {
      results[sent[j]] = std::move(answers[j]);
    }
  }

  bool all_valid = true;
  std::vector<std::string> items;
  for (std::size_t i = 0; i < names.size(); ++i) {
    all_valid &= results[i].valid();
    if (json) {
      items.push_back(
          WithFieldFirst("input", JsonString(names[i]), Json(results[i])));
      continue;
    }
    std::cout << PrintableValue(names[i]) << ": "
              << (results[i].valid() ? "valid" : "invalid") << std::endl;
    for (const v1::Violation& violation : results[i].violations()) {
      std::cout << "  " << violation.field() << " ("
                << ShortReasonName(violation.reason())
                << "): " << violation.description() << std::endl;
    }
  }
  if (json) {
    std::cout << "{\"results\":[" << absl::StrJoin(items, ",") << "]}"
              << std::endl;
  }
  return all_valid ? kYes : kNo;
}

int Compat(const Client& client, const std::vector<std::string>& args,
           bool json) {
  v1::CheckCompatibilityRequest request;
  absl::StatusOr<v1::StateType> model =
      SplitStateTypeName(args[0], "state_type");
  if (!model.ok()) return ReportError(model.status(), json);
  *request.mutable_state_type() = *std::move(model);
  for (std::size_t i = 1; i < args.size(); ++i) {
    absl::StatusOr<v1::StateType> candidate =
        SplitStateTypeName(args[i], absl::StrCat("candidates[", i - 1, "]"));
    if (!candidate.ok()) return ReportError(candidate.status(), json);
    *request.add_candidates() = *std::move(candidate);
  }
  absl::StatusOr<v1::CheckCompatibilityResponse> response =
      client.CheckCompatibility(request);
  if (!response.ok()) return ReportError(response.status(), json);
  if (static_cast<std::size_t>(response->results_size()) != args.size() - 1) {
    return ReportError(absl::InternalError("the server answered a result count "
                                           "that does not match the request"),
                       json);
  }

  bool all_compatible = true;
  std::vector<std::string> items;
  for (int i = 0; i < response->results_size(); ++i) {
    const v1::CompatibilityResult& result = response->results(i);
    all_compatible &= result.compatibility() != v1::COMPATIBILITY_INCOMPATIBLE;
    if (json) {
      items.push_back(
          WithFieldFirst("candidate", JsonString(args[i + 1]), Json(result)));
      continue;
    }
    std::string level = v1::Compatibility_Name(result.compatibility());
    level.erase(0, std::string("COMPATIBILITY_").size());
    std::cout << PrintableValue(args[i + 1]) << ": " << level;
    if (!result.differing_fields().empty()) {
      std::cout << " (differs in "
                << absl::StrJoin(result.differing_fields(), ", ") << ")";
    }
    std::cout << std::endl;
  }
  if (json) {
    std::cout << "{\"state_type\":" << JsonString(args[0]) << ",\"results\":["
              << absl::StrJoin(items, ",") << "]}" << std::endl;
  }
  return all_compatible ? kYes : kNo;
}

int Parse(const Client& client, const std::string& name, bool json) {
  v1::ParseStateKeyRequest request;
  request.set_name(name);
  absl::StatusOr<v1::ParseStateKeyResponse> response =
      client.ParseStateKey(request);
  if (!response.ok()) return ReportError(response.status(), json);
  if (json) {
    std::cout << Json(*response) << std::endl;
    return kYes;
  }
  const v1::StateKey& key = response->state_key();
  std::cout << "backend:      " << key.state_type().backend() << "\n"
            << "architecture: " << key.state_type().architecture() << "\n"
            << "extra:        "
            << (key.state_type().extra().empty()
                    ? std::string("(none)")
                    : absl::StrJoin(key.state_type().extra(), ", "))
            << "\n"
            << "training_id:  " << key.training_id() << std::endl;
  return kYes;
}

int UsageError(const std::string& message) {
  std::cerr << "statesctl: " << message << "\n"
            << "Run 'statesctl --help' for usage." << std::endl;
  return kUsage;
}

int Main(int argc, char** argv) {
  absl::SetProgramUsageMessage(kUsageText);
  std::vector<char*> positional = absl::ParseCommandLine(argc, argv);
  InstallProtobufLogFilter();
  if (positional.size() < 2) return UsageError("missing command");
  const std::string command = positional[1];
  const std::vector<std::string> args(positional.begin() + 2, positional.end());
  const bool json = absl::GetFlag(FLAGS_json);

  ClientOptions options;
  options.timeout = absl::GetFlag(FLAGS_timeout);
  if (options.timeout <= absl::ZeroDuration()) {
    return UsageError("--timeout must be positive");
  }
  const std::unique_ptr<Client> client =
      Client::Connect(absl::GetFlag(FLAGS_server), options);

  if (command == "validate") {
    if (args.empty()) return UsageError("validate takes at least one NAME");
    return Validate(*client, args, absl::GetFlag(FLAGS_type), json);
  }
  if (command == "compat") {
    if (args.size() < 2) {
      return UsageError("compat takes a TYPE and at least one CANDIDATE");
    }
    return Compat(*client, args, json);
  }
  if (command == "parse") {
    if (args.size() != 1) return UsageError("parse takes exactly one NAME");
    return Parse(*client, args[0], json);
  }
  return UsageError("unknown command \"" + command + "\"");
}

}  // namespace
}  // namespace mozuma::states

int main(int argc, char** argv) { return mozuma::states::Main(argc, argv); }
