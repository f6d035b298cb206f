#pragma once

// The body of a demo worker process, started by DemoWorkload as
//   <program> --demo-worker <region path> <process name>
// It maps the service's region, attaches under <process name>, heartbeats from a background thread
// and, a few times a second, allocates and frees unpublished blocks of varied sizes (so the region's
// free list fragments and heals) and updates a set of container roots of every kind, which the
// workers of one service share. Once attached it prints "attached <slot>" on stdout. It returns 0 once its standard
// input reaches end of file or it gets SIGTERM or SIGINT, after freeing its blocks and detaching. The parent holds the
// other end of the stdin pipe, so a parent that dies, however it dies, takes its workers with it.
//
// `arguments` is either the whole command line (program first) or only what follows the program;
// the two words after "--demo-worker" are used (the first two words when it is absent).

#include <QStringList>

namespace commy::monitor {

int runDemoWorker(const QStringList& arguments);

} // namespace commy::monitor
