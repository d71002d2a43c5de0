# Rewrites one protoc-generated Python module so that it lives inside the
# mozuma_states package: `cmake -DIN=raw.py -DOUT=module.py -P thisfile`.
#
# protoc writes imports from the proto package (`from mozuma.states.v1
# import state_pb2`, `from google.rpc import status_pb2`) and gives its
# classes the module name `mozuma.states.v1.state_pb2`. Both become
# `mozuma_states._proto.<the same>`, so that nothing named `mozuma` (MoZuMa's
# own package) or `google.rpc` has to be on sys.path, and so that pickle
# finds the classes. `google.protobuf` imports are left alone: they are the
# protobuf runtime.
if(NOT DEFINED IN OR NOT DEFINED OUT)
  message(FATAL_ERROR "usage: cmake -DIN=raw.py -DOUT=module.py -P ${CMAKE_CURRENT_LIST_FILE}")
endif()

file(READ "${IN}" text)

set(prefix "mozuma_states._proto.")
# Imports: at the start of a line only, so that strings such as
# '/mozuma.states.v1.StateService/GetState' are untouched. protoc writes
# only the `from X import Y` form; a plain `import mozuma...` would need
# more than a prefix, and fails the check below.
string(REGEX REPLACE "(^|\n)from (mozuma\\.|google\\.rpc[ .])"
       "\\1from ${prefix}\\2" text "${text}")
# The module name given to the generated classes.
string(REGEX REPLACE "(BuildTopDescriptorsAndMessages\\(DESCRIPTOR, ')(mozuma\\.|google\\.rpc\\.)"
       "\\1${prefix}\\2" text "${text}")

# Refuse to produce a module that would still need the top-level names.
string(REGEX MATCH "(^|\n)(from|import) (mozuma|google\\.rpc)[ .\n]" left "${text}")
if(left)
  message(FATAL_ERROR "${IN}: an import of mozuma or google.rpc was not rewritten")
endif()

get_filename_component(out_dir "${OUT}" DIRECTORY)
file(MAKE_DIRECTORY "${out_dir}")
file(WRITE "${OUT}.tmp" "${text}")
file(RENAME "${OUT}.tmp" "${OUT}")
