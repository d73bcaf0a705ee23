// Fixture: core includes only core (this file passes).
#include "core/result.h"
#include <vector>
