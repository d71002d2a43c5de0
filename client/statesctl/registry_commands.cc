// register, get, list and delete: the registry, one call (or one listing)
// at a time.
#include <google/protobuf/util/time_util.h>

#include <algorithm>
#include <iostream>
#include <map>
#include <optional>
#include <string>
#include <variant>
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

namespace mozuma::states::statesctl {
namespace {

// The server fills `name`; a state printed before that (or by a server
// that does not) is named from its key.
std::string NameOf(const v1::State& state) {
  return state.name().empty() ? FormatStateKey(state.state_key())
                              : state.name();
}

std::string ShortDigest(const std::string& sha256) {
  return sha256.empty() ? "-" : sha256.substr(0, 12);
}

std::string Time(const google::protobuf::Timestamp& time) {
  if (time.seconds() == 0 && time.nanos() == 0) return "-";
  return google::protobuf::util::TimeUtil::ToString(time);
}

void PrintState(const v1::State& state) {
  const v1::StateType& type = state.state_key().state_type();
  std::cout << "name:          " << PrintableValue(NameOf(state)) << "\n"
            << "backend:       " << type.backend() << "\n"
            << "architecture:  " << type.architecture() << "\n"
            << "extra:         "
            << (type.extra().empty() ? std::string("(none)")
                                     : absl::StrJoin(type.extra(), ", "))
            << "\n"
            << "training_id:   " << state.state_key().training_id() << "\n"
            << "uri:           " << state.uri() << "\n"
            << "sha256:        "
            << (state.sha256().empty() ? std::string("(unknown)")
                                       : state.sha256())
            << "\n"
            << "size:          "
            << (state.has_size_bytes()
                    ? absl::StrCat(state.size_bytes(), " bytes (",
                                   HumanBytes(state.size_bytes()), ")")
                    : std::string("(unknown)"))
            << "\n";
  // A proto map has no order; sort for output that reads the same each
  // time.
  const std::map<std::string, std::string> labels(state.labels().begin(),
                                                  state.labels().end());
  if (labels.empty()) std::cout << "labels:        (none)\n";
  bool first = true;
  for (const auto& [key, value] : labels) {
    std::cout << (first ? "labels:        " : "               ") << key << "="
              << value << "\n";
    first = false;
  }
  std::cout << "created:       " << Time(state.create_time()) << "\n"
            << "updated:       " << Time(state.update_time()) << "\n"
            << "revision:      " << state.revision() << std::endl;
}

std::vector<std::string> TableRow(const v1::State& state) {
  return {PrintableValue(NameOf(state)), absl::StrCat(state.revision()),
          state.has_size_bytes() ? HumanBytes(state.size_bytes()) : "-",
          ShortDigest(state.sha256()), state.uri()};
}

// The key of the NAME argument of a command that writes or looks up a
// key, or the exit code when there is none: kNo (the error printed) for a
// NAME that breaks the name rules, kUsage for one that looks like a pasted
// file name (CheckFileName()).
std::variant<v1::StateKey, int> KeyArgument(const std::string& name,
                                            bool json) {
  absl::StatusOr<v1::StateKey> key = ParseNameArgument(name);
  if (!key.ok()) return ReportError(key.status(), json);
  if (std::optional<FileNameProblem> problem = CheckFileName(name)) {
    return UsageError(problem->message);
  }
  return *std::move(key);
}

}  // namespace

int RunRegister(const Client& client, const Invocation& invocation) {
  std::variant<v1::StateKey, int> key_or_code =
      KeyArgument(invocation.args[0], invocation.json);
  if (const int* code = std::get_if<int>(&key_or_code)) return *code;
  const v1::StateKey* const key = &std::get<v1::StateKey>(key_or_code);
  v1::State state;
  *state.mutable_state_key() = *key;
  state.set_uri(invocation.args[1]);
  state.set_sha256(absl::GetFlag(FLAGS_sha256));
  // Given at all, even negative: the server then says what is wrong.
  if (invocation.flags.count("size_bytes") > 0) {
    state.set_size_bytes(absl::GetFlag(FLAGS_size_bytes));
  }
  for (const std::string& label : invocation.labels) {
    const std::size_t equals = label.find('=');
    if (equals == std::string::npos) {
      return UsageError(
          absl::StrCat("--label takes KEY=VALUE, not \"", label, "\""));
    }
    const std::string label_key = label.substr(0, equals);
    if (state.labels().contains(label_key)) {
      return UsageError(absl::StrCat("label \"", label_key, "\" given twice"));
    }
    (*state.mutable_labels())[label_key] = label.substr(equals + 1);
  }

  absl::StatusOr<v1::RegisterStateResponse> response =
      client.Register(state, absl::GetFlag(FLAGS_overwrite));
  if (!response.ok()) {
    const int code = ReportError(response.status(), invocation.json);
    if (response.status().code() == absl::StatusCode::kAlreadyExists &&
        !invocation.json) {
      std::cerr << "statesctl: " << PrintableValue(FormatStateKey(*key))
                << " is registered with different content; pass "
                   "--overwrite to replace it"
                << std::endl;
    }
    return code;
  }
  if (invocation.json) {
    std::cout << Json(*response) << std::endl;
    return kYes;
  }
  const char* outcome = response->created()   ? "created"
                        : response->changed() ? "replaced"
                                              : "unchanged";
  std::cout << outcome << " " << PrintableValue(NameOf(response->state()))
            << " rev " << response->state().revision() << std::endl;
  return kYes;
}

int RunGet(const Client& client, const Invocation& invocation) {
  std::variant<v1::StateKey, int> key_or_code =
      KeyArgument(invocation.args[0], invocation.json);
  if (const int* code = std::get_if<int>(&key_or_code)) return *code;
  const v1::StateKey* const key = &std::get<v1::StateKey>(key_or_code);
  absl::StatusOr<v1::State> state = client.Get(*key);
  if (!state.ok()) return ReportError(state.status(), invocation.json);
  if (invocation.json) {
    std::cout << Json(*state) << std::endl;
  } else {
    PrintState(*state);
  }
  return kYes;
}

int RunList(const Client& client, const Invocation& invocation) {
  if (absl::GetFlag(FLAGS_exact) && invocation.args.empty()) {
    return UsageError("--exact needs a STATE_TYPE");
  }
  absl::StatusOr<Filter> filter = FilterFromArguments(invocation.args);
  if (!filter.ok()) return ReportError(filter.status(), invocation.json);
  v1::ListStatesRequest request;
  filter->ApplyTo(request);
  request.set_page_size(absl::GetFlag(FLAGS_page_size));

  if (invocation.json) {
    // Page by page, so that a long listing streams.
    for (;;) {
      absl::StatusOr<v1::ListStatesResponse> page = client.ListStates(request);
      if (!page.ok()) return ReportError(page.status(), true);
      for (const v1::State& state : page->states()) {
        std::cout << Json(state) << "\n";
      }
      std::cout.flush();
      if (page->next_page_token().empty()) return kYes;
      if (page->next_page_token() == request.page_token()) {
        return ReportError(absl::InternalError("the server answered a page "
                                               "with the token it was sent"),
                           true);
      }
      request.set_page_token(page->next_page_token());
    }
  }

  // The table needs every row to size its columns.
  absl::StatusOr<std::vector<v1::State>> states = client.List(request);
  if (!states.ok()) return ReportError(states.status(), false);
  if (states->empty()) {
    std::cerr << "statesctl: no state matches" << std::endl;
    return kYes;
  }
  std::vector<std::vector<std::string>> rows = {
      {"NAME", "REVISION", "SIZE", "SHA256", "URI"}};
  for (const v1::State& state : *states) rows.push_back(TableRow(state));
  std::cout << FormatTable(rows, /*right_aligned=*/{1, 2}) << std::flush;
  return kYes;
}

int RunDelete(const Client& client, const Invocation& invocation) {
  std::variant<v1::StateKey, int> key_or_code =
      KeyArgument(invocation.args[0], invocation.json);
  if (const int* code = std::get_if<int>(&key_or_code)) return *code;
  const v1::StateKey* const key = &std::get<v1::StateKey>(key_or_code);
  absl::StatusOr<v1::DeleteStateResponse> response =
      client.Delete(*key, absl::GetFlag(FLAGS_expected_revision));
  if (!response.ok()) return ReportError(response.status(), invocation.json);
  if (invocation.json) {
    std::cout << Json(*response) << std::endl;
  } else {
    std::cout << "deleted " << PrintableValue(FormatStateKey(*key)) << " rev "
              << response->revision() << std::endl;
  }
  return kYes;
}

}  // namespace mozuma::states::statesctl
