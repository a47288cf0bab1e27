// Local unwinding only: the stacks we capture are our own process's.
#define UNW_LOCAL_ONLY
#include <libunwind.h>
