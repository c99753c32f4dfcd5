// The executor server: answers probe and run requests on a channel until the
// channel closes or a quit request arrives. Long-lived: one ProgramRunner,
// one fork per program.
#pragma once

#include "executor/channel.h"

namespace mmdiff::exec {

// Returns the process exit code: 0 after kQuit or end of stream, 1 when the
// runner cannot start.
int Serve(Channel* channel);

}  // namespace mmdiff::exec
