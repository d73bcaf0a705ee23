# Warning flags for the project's own targets (not for third-party headers).
function(qs_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wshadow=local -Wnon-virtual-dtor
                                           -Wno-missing-field-initializers)
  if(QS_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()

set(QS_SANITIZER_FLAGS -fsanitize=address,undefined -fno-omit-frame-pointer
                       -fno-sanitize-recover=undefined)
