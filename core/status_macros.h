// Early-return helpers for absl::Status, which abseil 20220623 does not ship.
#ifndef MOZUMA_STATES_CORE_STATUS_MACROS_H_
#define MOZUMA_STATES_CORE_STATUS_MACROS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define MOZUMA_STATES_CONCAT_INNER_(a, b) a##b
#define MOZUMA_STATES_CONCAT_(a, b) MOZUMA_STATES_CONCAT_INNER_(a, b)

// Evaluates `expr` (an absl::Status) and returns it from the enclosing
// function when it is not OK.
#define RETURN_IF_ERROR(expr)                                      \
  do {                                                             \
    const ::absl::Status mozuma_states_status_ = (expr);           \
    if (!mozuma_states_status_.ok()) return mozuma_states_status_; \
  } while (0)

// Evaluates `rexpr` (an absl::StatusOr<T>); returns its status from the
// enclosing function when it is not OK, and otherwise moves its value into
// `lhs`, which may be a declaration (`auto x`).
#define ASSIGN_OR_RETURN(lhs, rexpr)                                       \
  ASSIGN_OR_RETURN_IMPL_(MOZUMA_STATES_CONCAT_(status_or_, __LINE__), lhs, \
                         rexpr)

#define ASSIGN_OR_RETURN_IMPL_(statusor, lhs, rexpr) \
  auto statusor = (rexpr);                           \
  if (!statusor.ok()) return statusor.status();      \
  lhs = std::move(statusor).value()

#endif  // MOZUMA_STATES_CORE_STATUS_MACROS_H_
