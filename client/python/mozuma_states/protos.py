"""The generated protobuf and gRPC modules, for calls this package does not
wrap.

    from mozuma_states.protos import state_pb2, state_service_pb2
    stub = client.stub  # a state_service_pb2_grpc.StateServiceStub
    stub.ParseStateKey(state_service_pb2.ParseStateKeyRequest(name=...))

The modules live in `mozuma_states._proto` (built by CMake), with their
imports rewritten so that neither a top-level `mozuma` nor `google.rpc` is
needed on sys.path.

`status_pb2` and `error_details_pb2` (`google.rpc`) are those of
googleapis-common-protos when that package is installed: protobuf keeps one
definition per file name in its default descriptor pool, so loading a second
copy of `google/rpc/status.proto` next to it would fail (in whichever import
came second). Both copies read the same bytes.
"""

from mozuma_states._proto.mozuma.states.v1 import state_pb2
from mozuma_states._proto.mozuma.states.v1 import state_service_pb2
from mozuma_states._proto.mozuma.states.v1 import state_service_pb2_grpc


def _rpc_modules():
    try:
        # pylint: disable=import-outside-toplevel
        from google.rpc import error_details_pb2 as installed_error_details
        from google.rpc import status_pb2 as installed_status
        if (hasattr(installed_status, "Status")
                and hasattr(installed_error_details, "ErrorInfo")
                and hasattr(installed_error_details, "BadRequest")):
            return installed_status, installed_error_details
    except Exception:  # pylint: disable=broad-except
        pass
    # pylint: disable=import-outside-toplevel
    from mozuma_states._proto.google.rpc import error_details_pb2 as own_error_details
    from mozuma_states._proto.google.rpc import status_pb2 as own_status
    return own_status, own_error_details


status_pb2, error_details_pb2 = _rpc_modules()

__all__ = ["error_details_pb2", "state_pb2", "state_service_pb2",
           "state_service_pb2_grpc", "status_pb2"]
