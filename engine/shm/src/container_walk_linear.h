#pragma once

// Internal: the KindWalkers of the containers whose elements sit in one array (or one block).
//
//   kVecWalker     SharedVec: element i at data + i * keySize, i < length.
//   kStringWalker  SharedString: every byte is an element of size 1 (keySize is 1), at data + i, so
//                  paging a string pages its text; a reader that wants the whole text reads
//                  `length` bytes from the first element's offset (they are contiguous).
//   kDequeWalker   SharedVecDeque: element i at data + ((head + i) % capacity) * keySize, front
//                  to back.
//   kBoxWalker     SharedBox: one element, at data. A box that has no value block yet (its
//                  creator died between creating the root and storing the first value) has none.
//
// None of them has values: valueAt is always 0. visit() clamps [first, first + limit) to the
// elements there are, so a page past the end is empty rather than an error. check() covers the
// container's own structure (counts, head, bounds and alignment of its blocks); the blocks owned
// by nested elements are the reader's to decode.

#include "container_kinds.h"

namespace commy::shm::detail {

extern const KindWalker kVecWalker;
extern const KindWalker kStringWalker;
extern const KindWalker kDequeWalker;
extern const KindWalker kBoxWalker;

} // namespace commy::shm::detail
