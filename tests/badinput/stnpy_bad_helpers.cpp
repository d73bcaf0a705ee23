// The byte builders of tests/io (stnpy_helpers) compiled into the sanitizer suites too, so the
// crafted files and the good files come from one builder.
#include "io/stnpy_helpers.cpp" // NOLINT(bugprone-suspicious-include)
