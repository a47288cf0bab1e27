// libyaml from Debian's libyaml-dev: its event parser counts what a scenario expands to before Yams builds it.
#include <yaml.h>
