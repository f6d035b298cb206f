#pragma once

// Deterministic crash points for tests: a test child asks to be SIGKILLed right after its n-th
// journaled write, i.e. in the middle of a locked mutation, to prove that the next locker repairs
// the region. Costs one relaxed atomic load per journaled write when unused.

namespace commy::shm::testing {

// n > 0: the process kills itself (SIGKILL / TerminateProcess) after its n-th journaled write.
// n <= 0: disarm.
void killSelfAfterJournalWrites(int n);

} // namespace commy::shm::testing

namespace commy::shm::testing {

// n > 0: the process kills itself after its n-th container journal step (a saved range, an
// allocated or dropped block, the commit mark, a deferred free), i.e. inside a container operation.
void killSelfAfterContainerSteps(int n);

} // namespace commy::shm::testing
