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
#include "client/statesctl/commands.h"
#include "client/statesctl/flags.h"
#include "client/statesctl/output.h"
#include "core/errors.h"
#include "core/names.h"
#include "core/state_names.h"

namespace mozuma::states::statesctl {
namespace {

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

int RunCompat(const Client& client, const Invocation& invocation) {
  const std::vector<std::string>& args = invocation.args;
  const bool json = invocation.json;
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

int RunParse(const Client& client, const Invocation& invocation) {
  const std::string& name = invocation.args[0];
  const bool json = invocation.json;
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

}  // namespace mozuma::states::statesctl
