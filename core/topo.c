/* placeholder: replaced by the harness helper */
#include "topo.h"
