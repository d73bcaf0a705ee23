// Fixture for layers/check_catches_upward_include: quant may not include backends.
#include "core/result.h"
#include "backends/backend.h"
