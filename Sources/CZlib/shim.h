// zlib from Debian's zlib1g-dev: gzip for the pprof profiles.
#include <zlib.h>
