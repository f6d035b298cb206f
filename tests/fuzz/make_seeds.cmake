# cmake -DDOC=<docs/protocol.md> -DOUT=<dir> -P make_seeds.cmake
# Writes every JSON example line of the protocol reference to a file of its own: the fuzzer's seeds.
file(STRINGS "${DOC}" examples REGEX "^{\"type\"")
file(REMOVE_RECURSE "${OUT}")
file(MAKE_DIRECTORY "${OUT}")
set(index 0)
foreach(example IN LISTS examples)
    math(EXPR index "${index} + 1")
    file(WRITE "${OUT}/doc_${index}.json" "${example}")
endforeach()
