#include "client/client.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "client/grpc_status.h"

namespace mozuma::states {

absl::StatusOr<std::string> ChannelTarget(absl::string_view address) {
  if (address.empty()) {
    return absl::InvalidArgumentError(
        "the server address is empty: give HOST:PORT, such as "
        "127.0.0.1:50051");
  }
  const std::size_t scheme_end = address.find("://");
  // gRPC's own syntax (host:port, dns:///..., unix:/..., ipv4:...) is
  // gRPC's to read; only the URL schemes people paste from HTTP tools are
  // translated.
  if (scheme_end == absl::string_view::npos) return std::string(address);
  const std::string scheme =
      absl::AsciiStrToLower(address.substr(0, scheme_end));
  absl::string_view authority = address.substr(scheme_end + 3);
  if (scheme == "https" || scheme == "grpcs") {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", address,
                     "\" asks for TLS, which statesd does not serve (yet): "
                     "it serves plaintext, so write http://",
                     authority.substr(0, authority.find('/')), " instead"));
  }
  if (scheme != "http" && scheme != "grpc") return std::string(address);

  const auto invalid = [address](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat(
        "server address \"", address, "\" ", why,
        ": write http://HOST:PORT, such as http://127.0.0.1:50051"));
  };
  if (absl::EndsWith(authority, "/")) authority.remove_suffix(1);
  if (authority.find_first_of("/?#") != absl::string_view::npos) {
    return invalid(
        "has a path (a method URL?); the address is only the "
        "scheme, host and port");
  }
  if (authority.find('@') != absl::string_view::npos) {
    return invalid("has user information, which gRPC does not send");
  }
  absl::string_view host;
  absl::string_view port;
  if (absl::StartsWith(authority, "[")) {
    const std::size_t close = authority.find(']');
    if (close == absl::string_view::npos) {
      return invalid("has an IPv6 address without its closing ']'");
    }
    host = authority.substr(0, close + 1);
    absl::string_view after = authority.substr(close + 1);
    if (!absl::ConsumePrefix(&after, ":")) {
      if (!after.empty()) return invalid("has text after its IPv6 address");
    }
    port = after;
  } else {
    const std::size_t colon = authority.rfind(':');
    host = authority.substr(0, colon);
    if (colon != absl::string_view::npos) port = authority.substr(colon + 1);
    if (host.find(':') != absl::string_view::npos) {
      return invalid("has an IPv6 address without brackets ([::1])");
    }
  }
  if (host.empty() || host == "[]") return invalid("has no host");
  // The URL default (80) is never statesd's port: ask rather than guess.
  if (port.empty()) return invalid("has no port");
  int number = 0;
  if (port.size() > 5 ||
      port.find_first_not_of("0123456789") != absl::string_view::npos ||
      !absl::SimpleAtoi(port, &number) || number < 1 || number > 65535) {
    return invalid("has a port that is not a number from 1 to 65535");
  }
  return absl::StrCat(host, ":", number);
}

std::unique_ptr<Client> Client::Connect(const std::string& target,
                                        ClientOptions options) {
  grpc::ChannelArguments arguments;
  arguments.SetMaxReceiveMessageSize(options.max_response_bytes);
  // A watch can stay quiet for days: ping while calls are open, so that a
  // connection that died silently (a host gone, a NAT entry dropped) fails
  // the watch with UNAVAILABLE, which it resumes from, instead of hanging
  // it. statesd accepts pings this often.
  arguments.SetInt(
      GRPC_ARG_KEEPALIVE_TIME_MS,
      static_cast<int>(absl::ToInt64Milliseconds(options.keepalive_time)));
  arguments.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 20000);
  const absl::StatusOr<std::string> channel_target = ChannelTarget(target);
  std::shared_ptr<grpc::Channel> channel =
      grpc::CreateCustomChannel(channel_target.ok() ? *channel_target : target,
                                grpc::InsecureChannelCredentials(), arguments);
  return std::make_unique<Client>(v1::StateService::NewStub(channel), options);
}

Client::Client(std::shared_ptr<v1::StateService::StubInterface> stub,
               ClientOptions options)
    : stub_(std::move(stub)), options_(options) {}

template <typename Request, typename Response>
absl::StatusOr<Response> Client::Call(
    BlockingMethod<Request, Response> blocking,
    CallbackMethod<Request, Response> callback, const Request& request) const {
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + options_.timeout));
  Response response;
  grpc::Status status;
  if (v1::StateService::StubInterface::async_interface* async =
          stub_->async()) {
    absl::Notification done;
    (async->*callback)(&context, &request, &response,
                       [&status, &done](grpc::Status result) {
                         status = std::move(result);
                         done.Notify();
                       });
    done.WaitForNotification();
  } else {
    status = ((*stub_).*blocking)(&context, request, &response);
  }
  if (!status.ok()) return FromGrpcStatus(status);
  return response;
}

absl::StatusOr<v1::ValidateStateTypesResponse> Client::ValidateStateTypes(
    const v1::ValidateStateTypesRequest& request) const {
  return Call(
      &v1::StateService::StubInterface::ValidateStateTypes,
      &v1::StateService::StubInterface::async_interface::ValidateStateTypes,
      request);
}

absl::StatusOr<v1::ValidateStateKeysResponse> Client::ValidateStateKeys(
    const v1::ValidateStateKeysRequest& request) const {
  return Call(
      &v1::StateService::StubInterface::ValidateStateKeys,
      &v1::StateService::StubInterface::async_interface::ValidateStateKeys,
      request);
}

absl::StatusOr<v1::CheckCompatibilityResponse> Client::CheckCompatibility(
    const v1::CheckCompatibilityRequest& request) const {
  return Call(
      &v1::StateService::StubInterface::CheckCompatibility,
      &v1::StateService::StubInterface::async_interface::CheckCompatibility,
      request);
}

absl::StatusOr<v1::ParseStateKeyResponse> Client::ParseStateKey(
    const v1::ParseStateKeyRequest& request) const {
  return Call(&v1::StateService::StubInterface::ParseStateKey,
              &v1::StateService::StubInterface::async_interface::ParseStateKey,
              request);
}

absl::StatusOr<v1::RegisterStateResponse> Client::RegisterState(
    const v1::RegisterStateRequest& request) const {
  return Call(&v1::StateService::StubInterface::RegisterState,
              &v1::StateService::StubInterface::async_interface::RegisterState,
              request);
}

absl::StatusOr<v1::GetStateResponse> Client::GetState(
    const v1::GetStateRequest& request) const {
  return Call(&v1::StateService::StubInterface::GetState,
              &v1::StateService::StubInterface::async_interface::GetState,
              request);
}

absl::StatusOr<v1::BatchGetStatesResponse> Client::BatchGetStates(
    const v1::BatchGetStatesRequest& request) const {
  return Call(&v1::StateService::StubInterface::BatchGetStates,
              &v1::StateService::StubInterface::async_interface::BatchGetStates,
              request);
}

absl::StatusOr<v1::ListStatesResponse> Client::ListStates(
    const v1::ListStatesRequest& request) const {
  return Call(&v1::StateService::StubInterface::ListStates,
              &v1::StateService::StubInterface::async_interface::ListStates,
              request);
}

absl::StatusOr<v1::DeleteStateResponse> Client::DeleteState(
    const v1::DeleteStateRequest& request) const {
  return Call(&v1::StateService::StubInterface::DeleteState,
              &v1::StateService::StubInterface::async_interface::DeleteState,
              request);
}

absl::StatusOr<v1::StateKey> Client::ParseStateKey(
    absl::string_view name) const {
  v1::ParseStateKeyRequest request;
  request.set_name(std::string(name));
  absl::StatusOr<v1::ParseStateKeyResponse> response = ParseStateKey(request);
  if (!response.ok()) return response.status();
  return std::move(*response->mutable_state_key());
}

absl::StatusOr<v1::RegisterStateResponse> Client::Register(
    const v1::State& state, bool allow_overwrite) const {
  v1::RegisterStateRequest request;
  *request.mutable_state() = state;
  request.set_allow_overwrite(allow_overwrite);
  return RegisterState(request);
}

absl::StatusOr<v1::State> Client::Get(const v1::StateKey& key) const {
  v1::GetStateRequest request;
  *request.mutable_state_key() = key;
  absl::StatusOr<v1::GetStateResponse> response = GetState(request);
  if (!response.ok()) return response.status();
  return std::move(*response->mutable_state());
}

absl::StatusOr<bool> Client::Exists(const v1::StateKey& key) const {
  absl::StatusOr<v1::State> state = Get(key);
  if (state.ok()) return true;
  if (state.status().code() == absl::StatusCode::kNotFound) return false;
  return state.status();
}

absl::StatusOr<v1::BatchGetStatesResponse> Client::BatchGet(
    const std::vector<v1::StateKey>& keys) const {
  v1::BatchGetStatesRequest request;
  request.mutable_state_keys()->Reserve(static_cast<int>(keys.size()));
  for (const v1::StateKey& key : keys) *request.add_state_keys() = key;
  return BatchGetStates(request);
}

absl::StatusOr<std::vector<v1::State>> Client::List(
    v1::ListStatesRequest request) const {
  std::vector<v1::State> states;
  for (;;) {
    absl::StatusOr<v1::ListStatesResponse> page = ListStates(request);
    if (!page.ok()) return page.status();
    for (v1::State& state : *page->mutable_states()) {
      states.push_back(std::move(state));
    }
    if (page->next_page_token().empty()) return states;
    if (page->next_page_token() == request.page_token()) {
      return absl::InternalError(
          "the server answered a page with the token it was sent");
    }
    request.set_page_token(std::move(*page->mutable_next_page_token()));
  }
}

absl::StatusOr<v1::DeleteStateResponse> Client::Delete(
    const v1::StateKey& key, std::int64_t expected_revision) const {
  v1::DeleteStateRequest request;
  *request.mutable_state_key() = key;
  request.set_expected_revision(expected_revision);
  return DeleteState(request);
}

std::unique_ptr<StateWatcher> Client::Watch(
    const v1::WatchStatesRequest& request, WatchCallbacks callbacks,
    WatchOptions options) const {
  return std::make_unique<StateWatcher>(stub_, request, std::move(callbacks),
                                        options);
}

}  // namespace mozuma::states
