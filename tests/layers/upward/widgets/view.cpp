// Fixture: widgets may include value types, not the pipeline.
#include "pipeline/save.h"
