// Reading statesctl's positional arguments: dotted state keys and state
// types, and the filter that list and watch share.
#ifndef MOZUMA_STATES_CLIENT_STATESCTL_ARGUMENTS_H_
#define MOZUMA_STATES_CLIENT_STATESCTL_ARGUMENTS_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/names.h"
#include "mozuma/states/v1/state_service.pb.h"

namespace mozuma::states::statesctl {

// Every NAME and STATE_TYPE argument of every command may separate its
// parts with `/` as well as `.`: `pytorch/resnet18/cls1000/imagenet` is the
// key `pytorch.resnet18.cls1000.imagenet`, `pytorch/resnet18` the type
// `pytorch.resnet18`. No valid name holds either character, so the two
// may even be mixed (`pytorch/resnet18.imagenet`). Returns `text` with
// every `/` made a `.`.
std::string NormalizeNameArgument(absl::string_view text);

// The rules statesctl checks names with before it asks the server: the
// characters of each part only. The lengths and the number of extras are
// left to the server, whose limits are flags.
NameRules LocalNameRules();

// The key of NAME argument `name` (`pytorch.resnet18.cls1000.imagenet` or
// `pytorch/resnet18/cls1000/imagenet`). Returns INVALID_ARGUMENT, reason
// INVALID_STATE_NAME, whose BadRequest describes each problem
// (core/state_names.h CheckStateKeyName).
absl::StatusOr<v1::StateKey> ParseNameArgument(absl::string_view name);

// The state type `text` stands for: dotted (`pytorch.resnet18.cls1000`) or
// with slashes (`pytorch/resnet18`, `pytorch/resnet18/cls1000`). Errors as
// ParseNameArgument, on field `state_type`.
absl::StatusOr<v1::StateType> ParseStateTypeArgument(absl::string_view text);

// The weights-file extensions that a pasted file name ends in, lowercase:
// pt, pth, ckpt, bin, safetensors, onnx, h5, pkl, gz, gzip, zip. A key whose
// training id is one of them (in any case) is almost always a file name
// pasted as a NAME: `pytorch.resnet18.cls1000.imagenet.pt`.
const std::vector<std::string>& FileExtensions();

// What FileNameProblem() found: a NAME whose training id is a file
// extension.
struct FileNameProblem {
  // The training id, as written (`pt`).
  std::string extension;
  // The NAME without its trailing extensions (`.pt`, `.pt.gz`), when that
  // is still a state key; empty otherwise.
  std::string suggestion;
  // One paragraph for people: what looks wrong, the suggestion, `statesctl
  // import DIR` for files, and --allow_file_extension for a real training
  // id.
  std::string message;
};

// Returns the problem when the last part of NAME argument `name` (either
// separator) is one of FileExtensions(), and nothing otherwise, or when
// --allow_file_extension was given. The commands that write or look up a
// key (register, get, delete, parse) refuse such a NAME as a usage error;
// validate warns.
std::optional<FileNameProblem> CheckFileName(absl::string_view name);

// The filter of list and watch: `args` holds at most the STATE_TYPE, and
// --exact and --training_id complete it. Returns INVALID_ARGUMENT for a bad
// STATE_TYPE. The caller rejects --exact without a STATE_TYPE.
struct Filter {
  v1::StateType state_type;
  bool has_state_type = false;
  v1::StateTypeMatch match = v1::STATE_TYPE_MATCH_UNSPECIFIED;
  std::string training_id;

  // Sets the filter fields of a ListStatesRequest or WatchStatesRequest.
  template <typename Request>
  void ApplyTo(Request& request) const {
    if (has_state_type) *request.mutable_state_type() = state_type;
    request.set_match(match);
    request.set_training_id(training_id);
  }
};
absl::StatusOr<Filter> FilterFromArguments(
    const std::vector<std::string>& args);

}  // namespace mozuma::states::statesctl

#endif  // MOZUMA_STATES_CLIENT_STATESCTL_ARGUMENTS_H_
