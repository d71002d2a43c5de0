// validate, compat and parse: the questions about names that need no
// stored data.
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "client/statesctl/arguments.h"
#include "client/statesctl/commands.h"
#include "client/statesctl/flags.h"
#include "client/statesctl/output.h"
#include "core/errors.h"
#include "core/names.h"
#include "core/state_names.h"
#include "google/protobuf/struct.pb.h"

namespace mozuma::states::statesctl {
namespace {

// The answer for an argument that could not even be split into fields:
// every problem the local check finds (the part count, and each part's
// bad characters), each with its own reason.
v1::ValidationResult ResultFromLocalCheck(
    std::vector<v1::Violation> violations) {
  v1::ValidationResult result;
  for (v1::Violation& violation : violations) {
    *result.add_violations() = std::move(violation);
  }
  return result;
}

// `object` with `"warnings": [...]` inserted first when `warnings` is not
// empty.
std::string WithWarnings(const std::vector<std::string>& warnings,
                         std::string object) {
  if (warnings.empty()) return object;
  google::protobuf::ListValue list;
  for (const std::string& warning : warnings) {
    list.add_values()->set_string_value(warning);
  }
  return WithFieldFirst("warnings", Json(list), object);
}

}  // namespace

int RunValidate(const Client& client, const Invocation& invocation) {
  const std::vector<std::string>& names = invocation.args;
  const bool as_type = absl::GetFlag(FLAGS_type);
  const bool json = invocation.json;
  // Split locally, then ask the server about everything that split; keep
  // the answers in argument order.
  std::vector<v1::ValidationResult> results(names.size());
  std::vector<std::size_t> sent;
  v1::ValidateStateTypesRequest types;
  v1::ValidateStateKeysRequest keys;
  for (std::size_t i = 0; i < names.size(); ++i) {
    const std::string name = NormalizeNameArgument(names[i]);
    absl::Status split;
    if (as_type) {
      absl::StatusOr<v1::StateType> type = SplitStateTypeName(name);
      split = type.status();
      if (type.ok()) *types.add_state_types() = *std::move(type);
    } else {
      absl::StatusOr<v1::StateKey> key = SplitStateKeyName(name);
      split = key.status();
      if (key.ok()) *keys.add_state_keys() = *std::move(key);
    }
    if (split.ok()) {
      sent.push_back(i);
    } else {
      // The server answers only for what splits into fields; the local
      // check reports the rest in full.
      results[i] = ResultFromLocalCheck(
          as_type ? CheckStateTypeName(name, LocalNameRules())
                  : CheckStateKeyName(name, LocalNameRules()));
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
    // Valid by the name rules, yet most likely a pasted file name: a
    // warning, which leaves the answer (and the exit code) as it is.
    std::vector<std::string> warnings;
    if (!as_type && results[i].valid()) {
      if (std::optional<FileNameProblem> problem = CheckFileName(names[i])) {
        warnings.push_back(problem->message);
      }
    }
    if (json) {
      items.push_back(WithFieldFirst("input", JsonString(names[i]),
                                     WithWarnings(warnings, Json(results[i]))));
      continue;
    }
    std::cout << PrintableValue(names[i]) << ": "
              << (results[i].valid() ? "valid" : "invalid") << std::endl;
    for (const v1::Violation& violation : results[i].violations()) {
      std::cout << "  " << violation.field() << " ("
                << ShortReasonName(violation.reason())
                << "): " << violation.description() << std::endl;
    }
    for (const std::string& warning : warnings) {
      std::cout << "  warning: " << warning << std::endl;
    }
  }
  if (json) {
    std::cout << "{\"results\":[" << absl::StrJoin(items, ",") << "]}"
              << std::endl;
  }
  return all_valid ? kYes : kNo;
}

int RunCompat(const Client& client, const Invocation& invocation) {
  const std::vector<std::string>& args = invocation.args;
  const bool json = invocation.json;
  v1::CheckCompatibilityRequest request;
  absl::StatusOr<v1::StateType> model =
      SplitStateTypeName(NormalizeNameArgument(args[0]), "state_type");
  if (!model.ok()) return ReportError(model.status(), json);
  *request.mutable_state_type() = *std::move(model);
  for (std::size_t i = 1; i < args.size(); ++i) {
    absl::StatusOr<v1::StateType> candidate =
        SplitStateTypeName(NormalizeNameArgument(args[i]),
                           absl::StrCat("candidates[", i - 1, "]"));
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
    std::cout << "{\"stateType\":" << JsonString(args[0]) << ",\"results\":["
              << absl::StrJoin(items, ",") << "]}" << std::endl;
  }
  return all_compatible ? kYes : kNo;
}

int RunParse(const Client& client, const Invocation& invocation) {
  const std::string& name = invocation.args[0];
  const bool json = invocation.json;
  // The server parses; a NAME that looks like a pasted file name is
  // refused first, as by the commands that write or look up a key.
  if (ParseNameArgument(name).ok()) {
    if (std::optional<FileNameProblem> problem = CheckFileName(name)) {
      return UsageError(problem->message);
    }
  }
  v1::ParseStateKeyRequest request;
  request.set_name(NormalizeNameArgument(name));
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

}  // namespace mozuma::states::statesctl
