# Fails when a source file includes a header from a layer it may not depend on.
#   cmake -DROOT=<source dir> -P check_layers.cmake
# The layers and what each may include (see docs/ARCHITECTURE.md):
#   engine/core      core
#   engine/io        core io
#   engine/quant     core quant                 (quant reads no files: pipeline opens them)
#   engine/backends  core io quant backends shaders vulkan
#   engine/pipeline  core io quant pipeline
#   widgets          core io quant              (value types only: no backends, no pipeline)
#   app              everything
# shaders/ (the embedded SPIR-V) and the Vulkan headers (<vulkan/...>) count as layers that only
# engine/backends may include: widgets and the other engine layers never see Vulkan.
# Only includes whose first path component names a layer are judged ("core/x.h"); a file's
# own folder headers ("x.h") and system headers pass. Prints every offending FILE:LINE.
cmake_minimum_required(VERSION 3.25)
if(NOT DEFINED ROOT)
  message(FATAL_ERROR "check_layers.cmake: pass -DROOT=<source dir>")
endif()

set(QS_LAYERS core io quant backends pipeline shaders vulkan)
set(allowed_engine/core core)
set(allowed_engine/io core io)
set(allowed_engine/quant core quant)
set(allowed_engine/backends core io quant backends shaders vulkan)
set(allowed_engine/pipeline core io quant pipeline)
set(allowed_widgets core io quant)

set(violations "")
set(checked 0)
foreach(folder engine/core engine/io engine/quant engine/backends engine/pipeline widgets)
  if(NOT IS_DIRECTORY "${ROOT}/${folder}")
    continue()
  endif()
  file(GLOB_RECURSE files "${ROOT}/${folder}/*.h" "${ROOT}/${folder}/*.hpp" "${ROOT}/${folder}/*.cpp")
  foreach(f IN LISTS files)
    math(EXPR checked "${checked} + 1")
    file(READ "${f}" content)
    string(REGEX MATCHALL "#[ \t]*include[ \t]*[\"<][a-z_]+/[^\">\n]*[\">]" includes "${content}")
    foreach(inc IN LISTS includes)
      string(REGEX REPLACE "^#[ \t]*include[ \t]*[\"<]([a-z_]+)/.*$" "\\1" layer "${inc}")
      if(NOT layer IN_LIST QS_LAYERS OR layer IN_LIST allowed_${folder})
        continue()
      endif()
      # Line number: the newlines before the include's first occurrence, plus one.
      string(FIND "${content}" "${inc}" pos)
      string(SUBSTRING "${content}" 0 ${pos} before)
      string(REGEX MATCHALL "\n" newlines "${before}")
      list(LENGTH newlines line)
      math(EXPR line "${line} + 1")
      file(RELATIVE_PATH rel "${ROOT}" "${f}")
      list(APPEND violations "${rel}:${line}: ${folder} may not include ${layer}/ (${inc})")
    endforeach()
  endforeach()
endforeach()

if(violations)
  list(JOIN violations "\n" text)
  # Printed unwrapped (FATAL_ERROR re-flows long lines), one FILE:LINE per violation.
  message(NOTICE "${text}")
  message(FATAL_ERROR "layer check: a lower layer includes a higher one (allowed order: "
                      "core < io < quant < backends | pipeline < widgets, app; shaders/ and vulkan/ "
                      "only in engine/backends; see docs/ARCHITECTURE.md)")
endif()
message(STATUS "layer check: ${checked} files, no include from a higher layer")
